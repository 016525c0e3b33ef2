"""Hashtag moderation: normalizer, matcher, lexicon, moderator workflow."""
