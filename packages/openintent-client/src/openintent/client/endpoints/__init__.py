"""Endpoint definitions, one module per protocol area.

Each definition is a function ``(ctx, *args) -> Call[T] | Flow[T]``: it builds the
request and names the reader of the answer, and never performs I/O. The client classes
expose them through :class:`openintent.client._endpoint.endpoint`.
"""
