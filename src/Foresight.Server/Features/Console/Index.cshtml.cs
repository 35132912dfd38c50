using System.Security.Claims;
using Dapper;
using Foresight.Core.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.Mvc;
using Foresight.Server.Features.Surveys;

namespace Foresight.Server.Features.Console;

public sealed record ConsoleSurvey(string Slug, LocalizedText Title, string Status, int Topics, int Panel, int? CurrentRound);

/// <summary>The coordinator console's home: the surveys this coordinator runs.</summary>
[Authorize(Policy = Policies.Coordinator)]
public sealed class ConsoleIndexPage(Db db) : PageModel
{
    public List<ConsoleSurvey> Surveys { get; private set; } = [];
    public string? Error { get; private set; }
    public List<string> ErrorList { get; } = [];

    /// <summary>A new survey from its YAML file; problems are listed with their line and column.</summary>
    public async Task<IActionResult> OnPostImportAsync([FromServices] SurveysService surveys)
    {
        var (text, fileName, error) = await Uploads.ReadTextAsync(Request);
        var outcome = error is not null ? error : await surveys.ImportAsync(text!, fileName, User);
        if (outcome.Value is { } created) return Redirect($"/console/surveys/{created.Slug}");
        var refusal = outcome.Refusal!;
        Error = refusal.Detail;
        ErrorList.AddRange(refusal.Errors?.Select(e => e.ToString() ?? "").Where(e => e != refusal.Detail) ?? []);
        Response.StatusCode = refusal.Status;
        await OnGetAsync();
        return Page();
    }

    public async Task OnGetAsync()
    {
        await using var c = await db.OpenAsync();
        var rows = await c.QueryAsync<(string Slug, string? TitleZh, string? TitleEn, string Status, long Topics, long Panel, long? CurrentRound)>("""
            SELECT s.slug, s.title_zh, s.title_en, s.status,
                   (SELECT COUNT(*) FROM topics t WHERE t.survey_id = s.id AND t.status = 'active'),
                   (SELECT COUNT(*) FROM panel_members m WHERE m.survey_id = s.id AND m.revoked_at IS NULL),
                   (SELECT MAX(number) FROM rounds r WHERE r.survey_id = s.id)
            FROM surveys s
            WHERE @admin = 1 OR s.id IN (SELECT survey_id FROM survey_coordinators WHERE user_id = @userId)
            ORDER BY s.id
            """, new { admin = User.IsAdmin() ? 1 : 0, userId = User.UserId() });
        Surveys = rows.Select(r => new ConsoleSurvey(r.Slug, new LocalizedText(r.TitleZh, r.TitleEn), r.Status, (int)r.Topics, (int)r.Panel,
            (int?)r.CurrentRound)).ToList();
    }
}

public static class ConsoleSetup
{
    public static IServiceCollection AddConsolePages(this IServiceCollection services) => services.AddSingleton<SampleSurvey>();
}
