"""JSON documents (API pages, exports) and NDJSON streams."""
