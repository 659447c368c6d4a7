"""Partner-format adapters: codecs (reader/writer pairs) registered in :mod:`gateway.registry`.

``adapters.common`` holds what several codecs share (option checking, line decoding, header matching).
"""
