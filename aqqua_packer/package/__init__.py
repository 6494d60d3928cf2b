"""The AqQua package format: write (shards, resume), read, verify.  The one place it lives;
described for outside readers in docs/format.md."""
