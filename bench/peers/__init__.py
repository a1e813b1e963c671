"""What people write instead of the importer, written as a competent person would in an afternoon.

Each is run as ``python -m bench.peers.NAME ...`` and prints one JSON line of what it did.
"""
