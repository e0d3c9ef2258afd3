"""The web page: a Gradio front end over ``playground.api``, sibling of the terminal one.

``serve.serve()`` starts it; ``app.build_app()`` lays it out; the handlers live in small modules
(compare, history, replay, diff, stats, settings_tab) and call into ``playground/`` for the work.
"""
