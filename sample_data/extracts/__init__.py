"""One module per department: each yields typed chunks (canonical columns) for one extract and year."""
