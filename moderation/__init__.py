"""Moderation: flags, the review queue, sanctions and the audit log.

Depends on ``forum``; ``forum`` never imports this package (only
``forum.app`` mounts its routes).
"""
