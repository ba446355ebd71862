from openintent.server.cli import main

raise SystemExit(main())
