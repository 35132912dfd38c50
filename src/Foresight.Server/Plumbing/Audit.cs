using System.Data;
using System.Text.Json;
using Dapper;

namespace Foresight.Server.Plumbing;

/// <summary>The audit log of coordinator and admin actions, written in the same transaction as the action.</summary>
public static class Audit
{
    /// <summary>Logs the action at the server's time (<paramref name="clock"/>: the registered TimeProvider, so a test's clock dates it too).</summary>
    public static Task LogAsync(IDbConnection c, IDbTransaction? tx, TimeProvider clock, long? userId, long? surveyId, string action, object? detail = null) =>
        LogAsync(c, tx, clock.GetUtcNow(), userId, surveyId, action, detail);

    /// <summary>Logs the action at <paramref name="at"/>, the time the caller gives the rest of the change.</summary>
    public static Task LogAsync(IDbConnection c, IDbTransaction? tx, DateTimeOffset at, long? userId, long? surveyId, string action, object? detail = null) =>
        c.ExecuteAsync("INSERT INTO audit_log (at, user_id, survey_id, action, detail) VALUES (@at, @userId, @surveyId, @action, @detail)",
            new { at = Db.Iso(at), userId, surveyId, action, detail = detail is null ? null : JsonSerializer.Serialize(detail) }, tx);
}
