if __name__ == "__main__":  # not in a spawned training process, which imports this too
    from daemon.cli import main

    raise SystemExit(main())
