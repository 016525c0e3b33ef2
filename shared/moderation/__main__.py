"""Moderation from the command line.

    python -m shared.moderation check "#tag1 #tag2"   verdicts under the current lexicon
    python -m shared.moderation moderator NAME [--admin]  issue a moderator token (shown once)
    python -m shared.moderation recheck               re-check stored hashtags now
"""

from __future__ import annotations

import argparse
import json

from shared.db import get_database
from shared.moderation.check import check_hashtags, parse_hashtags, recheck_hashtags
from shared.moderation.moderators import issue_moderator
from shared.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.moderation")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="verdicts for hashtags")
    check.add_argument("hashtags")
    moderator = commands.add_parser("moderator", help="issue a moderator token")
    moderator.add_argument("name")
    moderator.add_argument("--admin", action="store_true", help="may issue and revoke tokens")
    commands.add_parser("recheck", help="re-check stored hashtags under the current lexicon")
    args = parser.parse_args(argv)
    db = get_database(get_settings())
    if args.command == "check":
        for verdict in check_hashtags(parse_hashtags(args.hashtags), db):
            print(json.dumps(verdict.as_dict(), ensure_ascii=False))
    elif args.command == "moderator":
        row, token = issue_moderator(db, args.name, None, admin=args.admin)
        print(f"{row.role} {row.name} ({row.id}); token (shown once): {token}")
    else:
        print(recheck_hashtags(db))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
