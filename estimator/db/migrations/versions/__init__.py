"""One module per schema revision, named by its four-digit revision id."""
