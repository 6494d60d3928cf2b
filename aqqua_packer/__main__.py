from aqqua_packer.cli import main

raise SystemExit(main())
