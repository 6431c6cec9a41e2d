"""The hello server: listen on port 1848 on every address, write ``hello\\n``, close.

Standard library only. Use it in-process::

    from server import HelloServer

    with HelloServer(host="::", port=0) as srv:
        print(srv.port)          # bound before any client connects

or from the command line: ``python -m server --port 1848``.
"""

from server.hello_server import DEFAULT_GREETING, DEFAULT_PORT, HelloServer, ListenAddress

__all__ = ["DEFAULT_GREETING", "DEFAULT_PORT", "HelloServer", "ListenAddress"]
