using Foresight.Server.Features.Accounts;
using Foresight.Server.Features.Console;
using Foresight.Server.Features.Experts;
using Foresight.Server.Features.Exports;
using Foresight.Server.Features.KeyTechnologies;
using Foresight.Server.Features.Insights;
using Foresight.Server.Features.Live;
using Foresight.Server.Features.Mail;
using Foresight.Server.Features.Messages;
using Foresight.Server.Features.Panel;
using Foresight.Server.Features.Questionnaire;
using Foresight.Server.Features.Reports;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Stakeholders;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Features.Topics;
using Foresight.Server.Plumbing;
using Hangfire;
using Scalar.AspNetCore;

var builder = WebApplication.CreateBuilder(args);

// Plumbing
builder.Services.AddForesightOptions(builder.Configuration);
builder.Services.AddSingleton<Db>();
builder.Services.AddForesightDataProtection(builder.Configuration, builder.Environment);
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<ChangeEvents>();
builder.Services.AddChangeRelay(builder.Configuration);
builder.Services.AddSingleton<StartupNotes>();
builder.Services.AddProblemDetails();
builder.Services.AddKestrelProblemResponses();
builder.Services.ConfigureHttpJsonOptions(o => Json.Configure(o.SerializerOptions));
builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
builder.Services.AddForesightAuth();
builder.Services.AddForesightRateLimits(builder.Configuration);
builder.Services.AddForesightWebSecurity();
builder.Services.AddOpenApi(o => o.AddStatusSchemas());
builder.Services.AddHttpContextAccessor();
builder.Services.AddScoped<Ui>();
builder.Services.AddRazorPages(o => o.RootDirectory = "/Features");
builder.Services.AddForesightHealth();
builder.Services.AddSingleton<LinkVault>();
builder.Services.AddForesightJobs(builder.Configuration);

// Features, each with its application service(s) and the change events it follows
builder.Services.AddAccounts();
builder.Services.AddSurveys();
builder.Services.AddExperts();
builder.Services.AddStakeholders();
builder.Services.AddRounds();
builder.Services.AddTopics();
builder.Services.AddKeyTechnologies();
builder.Services.AddExports();
builder.Services.AddPanel();
builder.Services.AddQuestionnaire();
builder.Services.AddMessages();
builder.Services.AddLive(builder.Configuration);
builder.Services.AddMail(builder.Configuration);
builder.Services.AddReports(builder.Configuration);
builder.Services.AddInsights(builder.Configuration);
builder.Services.AddConsolePages();

var app = builder.Build();
if (!Startup.SettingsAreValid(app)) { Environment.ExitCode = 1; return; }
await Startup.PrepareAsync(app, app.Services.GetRequiredService<AccountService>().EnsureAdminAsync, app.Services.GetRequiredService<SampleSurvey>().LoadAsync);
// Closes that a stopped server left between their two steps are finished first, so that their reports are queued.
await app.Services.GetRequiredService<RoundService>().FinishInterruptedClosesAsync();
// Jobs are derived from the tables: reports still to render, deadlines and reminders of open rounds, unsent e-mail,
// analyses still queued.
await app.Services.GetRequiredService<ReportService>().ResumeAsync();
await app.Services.GetRequiredService<RoundLifecycle>().ReconcileAsync(schedule: true);
await app.Services.GetRequiredService<MailSchedule>().ReconcileAsync(schedule: true);
await app.Services.GetRequiredService<Analyses>().ResumeAsync();
var recurring = app.Services.GetRequiredService<IRecurringJobManager>();
recurring.AddOrUpdate<RoundLifecycle>(RoundLifecycle.ReconcileJob, l => l.ReconcileAsync(false), Cron.Minutely());
recurring.AddOrUpdate<MailSchedule>(MailSchedule.ReconcileJob, m => m.ReconcileAsync(false), Cron.Minutely());

app.UseSecurityHeaders();
app.UseProblemResponses();
app.UseStaticFiles();
app.UseRouting();
app.UseAuthentication();
app.UseCookieApiAntiforgery();
app.UseAuthorization();
app.UseRateLimiter();
app.UseBodyLimits();

app.MapOpenApi();
// Scalar's inline script runs by a nonce of each answer (WebSecurity.ToolPagesPolicy); its fonts' CDN is another origin.
app.MapScalarApiReference(o => o.WithNonce().DisableDefaultFonts());
app.MapForesightHealth();
app.MapGet("/", (HttpContext http) => Results.Redirect(http.User.IsInRole(Roles.Stakeholder) ? "/reports" : "/console")).ExcludeFromDescription();
app.MapRazorPages();

// Features
app.MapAccounts();
app.MapSurveys();
app.MapTopics();
app.MapExperts();
app.MapPanel();
app.MapRounds();
app.MapInvitationLinks();
app.MapQuestionnaire();
app.MapMessages();
app.MapKeyTechnologies();
app.MapExports();
app.MapStakeholders();
app.MapReports();
app.MapMail();
app.MapInsights();
app.MapLive();
if (app.Configuration.GetValue<bool>(SaveLadder.Setting)) app.MapSaveLadder();
app.MapJobsDashboard();

app.Run();

public partial class Program;
