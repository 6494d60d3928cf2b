"""Sending a package: one module per target (sftp, ftp, drive, globus) plus the journal."""
