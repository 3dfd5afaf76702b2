"""What the layers share: the warehouse connection, SQL quoting, transactions, metadata helpers."""
