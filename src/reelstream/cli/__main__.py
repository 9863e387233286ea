from reelstream.cli import main

main()
