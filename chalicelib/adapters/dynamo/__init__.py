"""DynamoDB adapter: the one table's PynamoDB models and the repositories over them."""
