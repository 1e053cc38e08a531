"""The JSON API's typed answers: one pydantic model per response, and the one error model.

Fields whose values form a closed set (a submission's status, a job's state, a challenge
kind, a metric direction, a challenge id) refer to named enums that
:mod:`leaderboard.http.openapi` fills when the schema is served, from the registries and
tables that own those values.
"""
