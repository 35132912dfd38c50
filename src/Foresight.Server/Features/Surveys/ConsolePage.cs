using Foresight.Core.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Foresight.Server.Features.Surveys;

/// <summary>
/// A coordinator's page about one survey. Its forms post to handlers that call the application services the API
/// calls, so the console and the API take the same input through the same checks; a refusal is shown on the page in
/// the service's words, a success is confirmed after a redirect (so a reload does not post again).
/// </summary>
[Authorize(Policy = Policies.Coordinator)]
public abstract class ConsolePage : PageModel
{
    public SurveyRef Survey { get; private set; } = null!;
    public SurveyDefinition Definition { get; private set; } = null!;
    public string? Error { get; private set; }
    public List<string> ErrorList { get; } = [];
    [TempData] public string? Done { get; set; }

    protected T Service<T>() where T : notnull => HttpContext.RequestServices.GetRequiredService<T>();
    protected Db Db => Service<Db>();
    protected Ui Ui => Service<Ui>();

    /// <summary>Reads what the page shows; called for a GET and again when an action fails or shows its result.</summary>
    protected abstract Task LoadAsync();

    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        Survey = await SurveyRef.BindAsync(HttpContext);
        if (!Survey.Exists) { context.Result = NotFound(); return; }
        if (!await SurveyAccessFilter.CoordinatesAsync(HttpContext, User, Survey.Id)) { context.Result = Forbid(); return; }
        Definition = await Service<SurveyCatalog>().DefinitionAsync(Survey.Id);
        await next();
    }

    public virtual async Task OnGetAsync() => await LoadAsync();

    /// <summary>
    /// Runs an application service's action. On success: redirect with the confirmation <paramref name="done"/> (a UI
    /// string key), or, when <paramref name="show"/> takes the result, the page at once (e.g. a link shown only once).
    /// A refusal is shown on the page in the service's words.
    /// </summary>
    protected async Task<IActionResult> ActAsync<T>(IValidatable? body, Func<Task<Outcome<T>>> call, string done, Action<T>? show = null)
    {
        if (body is not null && body.Validate().ToList() is { Count: > 0 } invalid) return await FailAsync(invalid[0], invalid, 400);
        var outcome = await call();
        if (outcome.Refusal is { } refusal)
            return await FailAsync(refusal.Detail, refusal.Errors?.Select(e => e.ToString() ?? "") ?? [], refusal.Status);
        if (show is not null)
        {
            show(outcome.Value!);
            await LoadAsync();
            return Page();
        }
        Done = Ui.T(done);
        return Redirect(Request.Path + Request.QueryString);
    }

    protected async Task<IActionResult> FailAsync(string message, IEnumerable<string> errors, int status)
    {
        Error = message;
        ErrorList.AddRange(errors.Where(e => e != message));
        Response.StatusCode = status;
        await LoadAsync();
        return Page();
    }

    /// <summary>Both languages of a text typed into a form (…​.zh, ….en); null when both are empty.</summary>
    protected Features.Surveys.TextInput? Text(string prefix)
    {
        string? zh = Request.Form[prefix + ".zh"].FirstOrDefault()?.Trim(), en = Request.Form[prefix + ".en"].FirstOrDefault()?.Trim();
        return string.IsNullOrEmpty(zh) && string.IsNullOrEmpty(en) ? null : new(string.IsNullOrEmpty(zh) ? null : zh, string.IsNullOrEmpty(en) ? null : en);
    }

}
