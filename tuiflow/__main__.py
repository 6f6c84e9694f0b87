from tuiflow.cli import main

main()
