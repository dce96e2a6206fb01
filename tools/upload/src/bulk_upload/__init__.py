"""`python -m bulk_upload`: the command-line client of the bulk import (`bulk_upload.cli`)."""
