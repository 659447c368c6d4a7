"""Excel workbooks (XLSX) exchanged by départements and CAF (fichiers allocataires...)."""
