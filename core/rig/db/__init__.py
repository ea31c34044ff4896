"""Talking to the database: where to connect, TLS, connections and their errors, retry and the
circuit breaker, what the server is, scratch data, and the throwaway sandbox server."""
