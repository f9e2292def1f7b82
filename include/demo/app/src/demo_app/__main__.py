from demo_app.server import main

main()
