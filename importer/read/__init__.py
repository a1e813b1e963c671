"""Reading: a CSV or XLSX file as its header row and a stream of text rows numbered as in Excel."""
