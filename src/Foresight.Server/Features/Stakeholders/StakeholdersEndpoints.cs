using System.Security.Claims;
using Dapper;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Foresight.Server.Features.Stakeholders;

public sealed record GrantRequest(string Email) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Email)) yield return "email is required: the stakeholder account's e-mail";
    }
}

public sealed record StakeholderView(long UserId, string Email, string Name, string GrantedAt);

/// <summary>Which stakeholder accounts may read a survey: its published live view and reports.</summary>
public sealed class StakeholdersService(Db db, TimeProvider clock, ChangeEvents changes)
{
    public async Task<List<StakeholderView>> ListAsync(SurveyRef survey)
    {
        await using var c = await db.OpenAsync();
        var rows = await c.QueryAsync<(long UserId, string Email, string Name, string GrantedAt)>("""
            SELECT u.id, u.email, u.name, s.granted_at FROM survey_stakeholders s JOIN users u ON u.id = s.user_id
            WHERE s.survey_id = @Id ORDER BY u.email
            """, new { survey.Id });
        return rows.Select(r => new StakeholderView(r.UserId, r.Email, r.Name, r.GrantedAt)).ToList();
    }

    public async Task<Outcome<StakeholderView>> GrantAsync(SurveyRef survey, GrantRequest body, ClaimsPrincipal user)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var email = body.Email.Trim().ToLowerInvariant();
        var target = await c.QuerySingleOrDefaultAsync<(long Id, string Name, string Role)>(
            "SELECT id, name, role FROM users WHERE email = @email AND disabled_at IS NULL", new { email }, tx);
        if (target.Id == 0) return Refusal.NotFound($"There is no account with e-mail '{email}'. An admin creates stakeholder accounts with POST /api/users.");
        if (target.Role != Roles.Stakeholder) return Refusal.BadRequest($"'{email}' is a {target.Role} account, not a stakeholder account.");
        var now = Db.Iso(clock.GetUtcNow());
        await c.ExecuteAsync("""
            INSERT INTO survey_stakeholders (survey_id, user_id, granted_at, granted_by) VALUES (@Id, @target, @now, @by) ON CONFLICT DO NOTHING
            """, new { survey.Id, target = target.Id, now, by = user.UserId() }, tx);
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "stakeholder.granted", new { email });
        await tx.CommitAsync();
        return new StakeholderView(target.Id, email, target.Name, now);
    }

    /// <summary>Takes a stakeholder's access away; their open live view of the survey ends at once.</summary>
    public async Task<Outcome<Done>> RevokeAsync(SurveyRef survey, long userId, ClaimsPrincipal user)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var n = await c.ExecuteAsync("DELETE FROM survey_stakeholders WHERE survey_id = @Id AND user_id = @userId", new { survey.Id, userId }, tx);
        if (n == 0) return Refusal.NotFound($"Account {userId} has no access to survey '{survey.Slug}'.");
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "stakeholder.revoked", new { userId });
        await tx.CommitAsync();
        changes.Publish(new UserAccessEnded(userId, survey.Id));
        return new Done();
    }
}

public static class StakeholdersEndpoints
{
    public static IServiceCollection AddStakeholders(this IServiceCollection services) => services.AddSingleton<StakeholdersService>();

    public static void MapStakeholders(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/surveys/{survey}/stakeholders").WithTags("Stakeholders")
            .RequireAuthorization(Policies.Coordinator).RequireSurveyRole(SurveyRole.Coordinator);
        group.MapGet("/", async (SurveyRef survey, StakeholdersService stakeholders) => TypedResults.Ok(await stakeholders.ListAsync(survey)));
        group.MapPost("/", (SurveyRef survey, GrantRequest body, ClaimsPrincipal user, StakeholdersService stakeholders) =>
            stakeholders.GrantAsync(survey, body, user).ToHttp(v => TypedResults.Created($"/api/surveys/{survey.Id}/stakeholders", v)))
            .Validate<GrantRequest>();
        group.MapDelete("/{userId:long}", (SurveyRef survey, long userId, ClaimsPrincipal user, StakeholdersService stakeholders) =>
            stakeholders.RevokeAsync(survey, userId, user).ToNoContent());
    }
}
