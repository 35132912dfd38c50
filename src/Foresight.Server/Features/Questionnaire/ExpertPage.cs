using Dapper;
using Foresight.Core.Answers;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Foresight.Server.Features.Questionnaire;

/// <summary>
/// The expert's pages, opened from the invitation link (which signs the expert in with a cookie). The survey in the
/// route must be the one the invitation is for. The page speaks the expert's language unless they switch it; a
/// switch is remembered for the expert, so e-mails follow it too. The pages call <see cref="QuestionnaireService"/>,
/// as the API does, so answers from a page and from the API pass the same checks.
/// </summary>
[Authorize(Policy = Policies.Expert)]
public abstract class ExpertPage(Db db, SurveyCatalog catalog, Ui ui, QuestionnaireService questionnaire) : PageModel
{
    protected Db Db => db;
    protected Ui Ui => ui;
    protected QuestionnaireService Questionnaire => questionnaire;
    public SurveyRef Survey { get; private set; } = null!;
    public SurveyDefinition Definition { get; private set; } = null!;
    /// <summary>Whether the expert's answers are taken now (set by <see cref="LoadWindowAsync"/>).</summary>
    public AnswerWindow Window { get; private set; } = AnswerWindow.NoRound;
    public bool Open => Window.Open;

    protected async Task LoadWindowAsync() => Window = await questionnaire.ForMemberAsync(Survey.Id, User.MemberId()!.Value);

    /// <summary>Why answers are not taken, in the expert's language: as a notice (<paramref name="refused"/> false) or as the reason a save was
    /// refused.</summary>
    public string ClosedText(AnswerWindow window, bool refused = false) => window.Closed switch
    {
        WindowClosed.NotOnRound => Ui.T("q.closed.notonround"),
        WindowClosed.Revoked => Ui.T("q.closed.revoked"),
        _ => Ui.T(refused ? "q.err.closed" : "q.closed"),
    };

    /// <summary>A save that was not made, in the expert's language: why, or null when it was made or the page marks its problems itself.</summary>
    protected string? Refusal(SaveOutcome outcome) => outcome switch
    {
        SaveOutcome.Closed closed => ClosedText(closed.Window, refused: true),
        SaveOutcome.Refused r => r.Detail,
        SaveOutcome.NotFound r => r.Detail,
        SaveOutcome.BadRequest r => r.Detail,
        _ => null,
    };

    protected T Service<T>() where T : notnull => HttpContext.RequestServices.GetRequiredService<T>();

    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        Survey = await SurveyRef.BindAsync(HttpContext);
        if (!Survey.Exists || User.ExpertSurveyId() != Survey.Id)
        {
            context.Result = new ContentResult
            {
                StatusCode = StatusCodes.Status403Forbidden, ContentType = "text/plain; charset=utf-8",
                Content = "Your invitation is for another survey. Open the link in your invitation e-mail. / 您的邀请链接对应另一项调查，请使用邀请邮件中的链接。",
            };
            return;
        }
        Definition = await catalog.DefinitionAsync(Survey.Id);
        string own;
        await using (var c = await db.OpenAsync())
            own = await c.QuerySingleAsync<string>("""
                SELECT COALESCE(m.language, e.language) FROM panel_members m JOIN experts e ON e.id = m.expert_id WHERE m.id = @id
                """, new { id = User.MemberId() });
        ui.Prefer(own);
        if (ui.Chosen() is { } chosen && chosen != Languages.Normalize(own) && Definition.Languages.Contains(chosen))
            await questionnaire.SetLanguageAsync(new LanguageRequest(chosen), User);
        await next();
    }

}
