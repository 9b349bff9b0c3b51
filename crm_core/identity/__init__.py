"""Who is who: proofs that join a chat to a customer, and merging duplicate customers."""
