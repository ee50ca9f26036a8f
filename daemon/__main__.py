from daemon.cli import main

if __name__ == "__main__":  # a spawned training process imports this module too
    raise SystemExit(main())
