using System.Security.Claims;
using Dapper;

namespace Foresight.Server.Plumbing;

/// <summary>
/// The survey named in a route ({survey} is its number or its id from the file, e.g. "quick-start").
/// An unknown survey binds to Id 0; the access filter answers 404 for it.
/// </summary>
public sealed record SurveyRef(long Id, string Slug)
{
    public bool Exists => Id != 0;

    public static async ValueTask<SurveyRef> BindAsync(HttpContext context) =>
        await context.RequestServices.GetRequiredService<SurveyDirectory>().FindAsync(context.GetRouteValue("survey")?.ToString() ?? "");
}

/// <summary>Survey numbers and ids, cached: a survey keeps both for life; a deleted one is forgotten.</summary>
public sealed class SurveyDirectory(Db db) : IChangeHandler<SurveyChanged>, IFollowsEveryNode
{
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, SurveyRef> _known = new(StringComparer.Ordinal);

    public Task HandleAsync(SurveyChanged change)
    {
        if (change.Deleted) Forget(new SurveyRef(change.SurveyId, change.Slug));
        return Task.CompletedTask;
    }

    public async Task<SurveyRef> FindAsync(string key)
    {
        if (_known.TryGetValue(key, out var known)) return known;
        await using var c = await db.OpenAsync();
        var found = long.TryParse(key, out var id)
            ? await c.QuerySingleOrDefaultAsync<SurveyRef>("SELECT id, slug FROM surveys WHERE id = @id", new { id })
            : await c.QuerySingleOrDefaultAsync<SurveyRef>("SELECT id, slug FROM surveys WHERE slug = @key", new { key });
        if (found is null) return new SurveyRef(0, key);
        _known[found.Id.ToString()] = found;
        _known[found.Slug] = found;
        return found;
    }

    void Forget(SurveyRef survey)
    {
        _known.TryRemove(survey.Id.ToString(), out _);
        _known.TryRemove(survey.Slug, out _);
    }
}

[Flags]
public enum SurveyRole
{
    /// <summary>An admin, or a coordinator of this survey.</summary>
    Coordinator = 1,
    /// <summary>A panel member of this survey (invitation link).</summary>
    Expert = 2,
    /// <summary>A stakeholder account granted this survey.</summary>
    Stakeholder = 4,
}

/// <summary>Checks that the caller may act on the route's survey in one of the allowed roles.</summary>
public sealed class SurveyAccessFilter(SurveyRole allowed) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var survey = context.Arguments.OfType<SurveyRef>().FirstOrDefault()
            ?? throw new InvalidOperationException("endpoints under a survey access filter take a SurveyRef");
        if (!survey.Exists) return Problems.NotFound($"There is no survey '{survey.Slug}'.");
        var http = context.HttpContext;
        var user = http.User;
        if (allowed.HasFlag(SurveyRole.Expert) && user.ExpertSurveyId() == survey.Id) return await next(context);
        if (allowed.HasFlag(SurveyRole.Coordinator) && await CoordinatesAsync(http, user, survey.Id)) return await next(context);
        if (allowed.HasFlag(SurveyRole.Stakeholder) && await StakeholderOfAsync(http, user, survey.Id)) return await next(context);
        return Problems.Forbidden(user.IsInRole(Roles.Expert)
            ? "Your invitation is for another survey, or this needs a coordinator."
            : $"You are not a coordinator of survey '{survey.Slug}'.");
    }

    public static async Task<bool> StakeholderOfAsync(HttpContext http, ClaimsPrincipal user, long surveyId)
    {
        if (!user.IsInRole(Roles.Stakeholder) || user.UserId() is not { } userId) return false;
        var db = http.RequestServices.GetRequiredService<Db>();
        await using var c = await db.OpenAsync(http.RequestAborted);
        return await c.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM survey_stakeholders WHERE survey_id = @surveyId AND user_id = @userId", new { surveyId, userId }) > 0;
    }

    public static async Task<bool> CoordinatesAsync(HttpContext http, ClaimsPrincipal user, long surveyId)
    {
        if (user.IsAdmin()) return true;
        if (!user.IsInRole(Roles.Coordinator) || user.UserId() is not { } userId) return false;
        var db = http.RequestServices.GetRequiredService<Db>();
        await using var c = await db.OpenAsync(http.RequestAborted);
        return await c.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM survey_coordinators WHERE survey_id = @surveyId AND user_id = @userId", new { surveyId, userId }) > 0;
    }
}

public static class SurveyAccessExtensions
{
    public static TBuilder RequireSurveyRole<TBuilder>(this TBuilder builder, SurveyRole roles) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(new SurveyAccessFilter(roles));
}
