"""The domain: customers, identities, consents, cards. No web and no messenger imports here."""
