"""Adapters: the edge where SDKs live (DynamoDB, SES, argon2, Stripe) and the in-memory fakes."""
