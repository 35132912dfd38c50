using System.Security.Claims;
using Dapper;
using Foresight.Server.Features.Experts;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Features.Mail;
using Hangfire;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Panel;

/// <param name="Fields">field codes the expert answers; left out: the survey's fields named in the expert's expertise</param>
public sealed record PanelAddition(long? ExpertId, string? Email, IReadOnlyList<string>? Fields);

public sealed record PanelRequest(IReadOnlyList<PanelAddition> Members) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Members is null || Members.Count == 0)
            yield return "members must list at least one expert: {\"members\": [{\"expert_id\": 1, \"fields\": [\"F1\"]}]}";
        else if (Members.Count > 10000) yield return "at most 10000 members per request";
        else
            for (int i = 0; i < Members.Count; i++)
                if (Members[i].ExpertId is null && string.IsNullOrWhiteSpace(Members[i].Email))
                    yield return $"members[{i}] needs expert_id or email";
    }
}

public sealed record FieldsRequest(IReadOnlyList<string> Fields) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Fields is null || Fields.Count == 0) yield return "fields must list at least one field code";
    }
}

/// <summary>An invitation link is shown once, when it is made; only its hash is stored.</summary>
public sealed record Invitation(long MemberId, long ExpertId, string Name, string Pseudonym, IReadOnlyList<string> Fields, string Link, string Secret);

public sealed record MemberView(
    long Id, long ExpertId, string Name, string Email, string? OrgType, string? Region, string Pseudonym,
    IReadOnlyList<string> Fields, string JoinedAt, bool Revoked, string LinkIssuedAt);

/// <summary>The panel's API: its members, adding experts, their fields and invitation links.</summary>
public static class PanelEndpoints
{
    public static IServiceCollection AddPanel(this IServiceCollection services) => services.AddSingleton<PanelService>();

    public static void MapPanel(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/surveys/{survey}/panel").WithTags("Panel")
            .RequireAuthorization(Policies.Coordinator).RequireSurveyRole(SurveyRole.Coordinator);
        group.MapGet("/", async (SurveyRef survey, PanelService panel) => TypedResults.Ok(await panel.ListAsync(survey)));
        group.MapPost("/", (SurveyRef survey, PanelRequest body, ClaimsPrincipal user, HttpRequest request, IOptions<ForesightOptions> options,
            PanelService panel) =>
                panel.AddAsync(survey, body, user, Links.Base(request, options)).ToHttp(i => TypedResults.Created($"/api/surveys/{survey.Id}/panel", i)))
            .Validate<PanelRequest>()
            .WithSummary("Add experts from the pool to the panel; each gets a pseudonym and an invitation link (shown only in this answer)");
        group.MapPut("/{member:long}/fields", (SurveyRef survey, long member, FieldsRequest body, ClaimsPrincipal user, PanelService panel) =>
            panel.SetFieldsAsync(survey, member, body, user).ToHttp(TypedResults.Ok)).Validate<FieldsRequest>();
        group.MapPost("/{member:long}/link", (SurveyRef survey, long member, ClaimsPrincipal user, HttpRequest request, IOptions<ForesightOptions> options,
            PanelService panel) =>
                panel.RenewAsync(survey, member, user, Links.Base(request, options)).ToHttp(TypedResults.Ok))
            .WithSummary("Issue a new invitation link; the old one stops working");
        group.MapDelete("/{member:long}/link", (SurveyRef survey, long member, ClaimsPrincipal user, PanelService panel) =>
                panel.RevokeAsync(survey, member, user).ToNoContent())
            .WithSummary("Revoke the expert's invitation link");
    }
}
