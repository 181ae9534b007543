"""LL5xx: whole-body reads and file handling in upload/download handlers."""
