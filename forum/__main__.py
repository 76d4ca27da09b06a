from forum.cli import main

main()
