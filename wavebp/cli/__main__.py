from wavebp.cli import main

raise SystemExit(main())
