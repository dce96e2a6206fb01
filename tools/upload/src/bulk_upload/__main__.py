import sys

from bulk_upload.cli import main

sys.exit(main())
