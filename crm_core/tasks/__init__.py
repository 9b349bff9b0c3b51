"""Manager tasks: things a person at a store or in marketing should do about a customer."""
