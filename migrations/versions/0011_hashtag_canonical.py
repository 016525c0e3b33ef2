"""hashtag canonical keys: re-key stored hashtags with the TR39 canonical key, merging duplicates

Rows stored before the canonical key (issue 11, item 7) keep the key of their spelling, so an
old ``trаvel`` (Cyrillic а) row stays separate from ``travel``. This re-keys every row with
today's ``normalize_tag`` and merges rows that now share a key:

- the oldest row of a group is kept; profile links, appeals and audit rows move to it (a
  profile that linked two spellings keeps one link, at its first position);
- its verdict becomes the canonical row's (the row whose old key already was the canonical
  key) when there is one: a decision on a look-alike spelling is not a decision on the plain
  word. Otherwise an automatic verdict stands and is re-checked (``lexicon_version`` 0) by the
  next ``recheck_hashtags``;
- a verdict whose only finding was the look-alike check (category ``confusable``) becomes
  ``approved``: the stored key is plain script now, and the look-alike spelling is no longer shown;
- a display in a look-alike spelling becomes the canonical key;
- every re-keyed or merged row gets a ``rekeyed`` audit row naming the old keys and ids.

Revision ID: 0011_hashtag_canonical
Revises: 0010_job_storage
"""

import sqlalchemy as sa
from alembic import op

revision = '0011_hashtag_canonical'
down_revision = '0010_job_storage'
branch_labels = None
depends_on = None

_json = sa.JSON()
_hashtags = sa.table('hashtags', sa.column('id', sa.BigInteger()), sa.column('normalized', sa.String()),
                     sa.column('display', sa.String()), sa.column('status', sa.String()),
                     sa.column('reasons', _json), sa.column('reason', sa.Text()),
                     sa.column('lexicon_version', sa.Integer()), sa.column('decided_by', sa.Uuid()),
                     sa.column('decided_at', sa.DateTime(timezone=True)),
                     sa.column('created_at', sa.DateTime(timezone=True)),
                     sa.column('updated_at', sa.DateTime(timezone=True)))
_links = sa.table('profile_hashtags', sa.column('profile_id', sa.Uuid()), sa.column('hashtag_id', sa.BigInteger()),
                  sa.column('position', sa.Integer()))
_appeals = sa.table('moderation_appeals', sa.column('hashtag_id', sa.BigInteger()))
_actions = sa.table('moderation_actions', sa.column('action', sa.String()), sa.column('moderator_id', sa.Uuid()),
                    sa.column('hashtag_id', sa.BigInteger()), sa.column('target', sa.String()),
                    sa.column('note', sa.Text()), sa.column('details', _json),
                    sa.column('lexicon_version', sa.Integer()), sa.column('created_at', sa.DateTime(timezone=True)))
_VERDICT = ('status', 'reasons', 'reason', 'lexicon_version', 'decided_by', 'decided_at')


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(_hashtags).order_by(_hashtags.c.created_at, _hashtags.c.id)).mappings().all()
    if rows:
        rekey_hashtags(connection, [dict(row) for row in rows])


def rekey_hashtags(connection, rows: list[dict]) -> None:
    """Group rows by their canonical key and merge each group into its oldest row."""
    # The normalizer of this release; imported only when there are rows to re-key.
    from shared.moderation.normalize import clean, normalize_tag

    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(normalize_tag(row['normalized']) or row['normalized'], []).append(row)
    for key, group in groups.items():
        keeper = group[0]
        source = next((row for row in group if row['normalized'] == key), None)
        values = _canonical_values(keeper, source, key, clean)
        if len(group) == 1 and not values:
            continue
        for duplicate in group[1:]:
            _move_references(connection, duplicate['id'], keeper['id'])
            connection.execute(sa.delete(_hashtags).where(_hashtags.c.id == duplicate['id']))
        connection.execute(sa.update(_hashtags).where(_hashtags.c.id == keeper['id'])
                           .values(normalized=key, updated_at=sa.func.now(), **values))
        connection.execute(sa.insert(_actions).values(
            action='rekeyed', moderator_id=None, hashtag_id=keeper['id'], target=key, created_at=sa.func.now(),
            note='canonical key (migration 0011_hashtag_canonical)', lexicon_version=None,
            details={'old_keys': [row['normalized'] for row in group], 'merged_ids': [row['id'] for row in group[1:]],
                     'from_status': keeper['status'], 'to_status': values.get('status', keeper['status'])}))


def _canonical_values(keeper: dict, source: dict | None, key: str, clean) -> dict:
    """The keeper's new columns: the canonical row's verdict, a plain display."""
    values: dict = {}
    if source is not None and source is not keeper:
        values.update({column: source[column] for column in _VERDICT})
        values['display'] = source['display']
    elif source is None and keeper['decided_by'] is not None:
        # A moderator decided a look-alike spelling, not the plain word: the check decides again.
        values.update(decided_by=None, decided_at=None, lexicon_version=0)
    verdict = {column: values.get(column, keeper[column]) for column in _VERDICT}
    reasons = verdict['reasons'] or []
    if verdict['decided_by'] is None and reasons and all(r.get('category') == 'confusable' for r in reasons):
        values.update(status='approved', reasons=[], reason=None, lexicon_version=0)
    display = values.get('display', keeper['display'])
    if clean(display).casefold() != key:
        values['display'] = key
    if keeper['normalized'] != key and verdict['decided_by'] is None:
        values.setdefault('lexicon_version', 0)
    return {column: value for column, value in values.items() if value != keeper[column]}


def _move_references(connection, old_id: int, new_id: int) -> None:
    """Profile links, appeals and audit rows of a merged row point at the kept row."""
    links = connection.execute(sa.select(_links).where(_links.c.hashtag_id == old_id)).mappings().all()
    for link in links:
        kept = connection.execute(sa.select(_links.c.position).where(
            _links.c.profile_id == link['profile_id'], _links.c.hashtag_id == new_id)).scalar()
        if kept is None:
            connection.execute(sa.update(_links).where(_links.c.profile_id == link['profile_id'],
                                                       _links.c.hashtag_id == old_id).values(hashtag_id=new_id))
            continue
        connection.execute(sa.delete(_links).where(_links.c.profile_id == link['profile_id'],
                                                   _links.c.hashtag_id == old_id))
        if link['position'] < kept:
            connection.execute(sa.update(_links).where(_links.c.profile_id == link['profile_id'],
                                                       _links.c.hashtag_id == new_id)
                               .values(position=link['position']))
    connection.execute(sa.update(_appeals).where(_appeals.c.hashtag_id == old_id).values(hashtag_id=new_id))
    # The audit rows themselves are unchanged; they now name the row they are history of.
    connection.execute(sa.update(_actions).where(_actions.c.hashtag_id == old_id).values(hashtag_id=new_id))


def downgrade() -> None:
    # Merged rows cannot be split again; the canonical keys stay valid keys for the old code.
    pass
