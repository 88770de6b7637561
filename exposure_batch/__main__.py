from exposure_batch.cli import main

main()
