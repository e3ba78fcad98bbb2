from yardcam.cli import main

raise SystemExit(main())
