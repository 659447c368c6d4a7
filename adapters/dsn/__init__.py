"""DSN (déclaration sociale nominative, NEODeS format) files: employers' monthly declarations."""
