using System.Net;
using System.Net.Http.Json;
using Foresight.Server.Plumbing;
using Microsoft.Extensions.DependencyInjection;

namespace Foresight.Server.Tests;

/// <summary>What the README's run command relies on: a fresh start prints working sign-in details and an expert link.</summary>
public sealed class StartupTests : IDisposable
{
    readonly ForesightFactory _app = new ForesightFactory()
        .With("Foresight:Admin:Password", null)
        .With("Foresight:SampleSurvey", Path.GetFullPath("surveys/national-tf-2045.yaml"));

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task A_fresh_start_loads_the_sample_and_prints_working_credentials()
    {
        var anonymous = _app.Anonymous();
        await anonymous.GetAsync("/health/live");
        var notes = _app.Services.GetRequiredService<StartupNotes>().Lines;
        Assert.Contains(notes, n => n.StartsWith("Admin sign-in:") && n.Contains("one-time password"));

        string Field(string label) => notes.Single(n => n.StartsWith(label))[label.Length..].Trim().Split(' ')[0];
        var adminPassword = notes.Single(n => n.StartsWith("Admin sign-in:")).Split(" / ")[1].Split(' ')[0];
        var coordinatorPassword = notes.Single(n => n.StartsWith("Coordinator:")).Split(" / ")[1].Split(' ')[0];
        await _app.SignInAsync(ForesightFactory.AdminEmail, adminPassword);
        var coordinator = await _app.SignInAsync(Foresight.Server.Features.Console.SampleSurvey.DemoCoordinator, coordinatorPassword);
        var survey = await coordinator.GetOkAsync("/api/surveys/national-tf-2045");
        Assert.Equal(20, survey["panel_size"]!.GetValue<int>());

        var link = Field("Expert link:");
        Assert.StartsWith("http://foresight.test/x/", link);
        var expert = _app.WithToken(Field("Expert API key:"));
        var q = await expert.GetOkAsync("/api/surveys/national-tf-2045/questionnaire");
        Assert.Single(q["fields"]!.AsArray()); // each demo expert answers one of the five fields

        // The demo panel answers a round like any panel.
        await Api.OkAsync(await coordinator.PostAsJsonAsync("/api/surveys/national-tf-2045/rounds", new { }));
        q = await expert.GetOkAsync("/api/surveys/national-tf-2045/questionnaire");
        var topic = q["fields"]![0]!["topics"]![0]!["code"]!.GetValue<string>();
        await Api.OkAsync(await expert.PutAsJsonAsync($"/api/surveys/national-tf-2045/questionnaire/topics/{topic}",
            new { answers = new { familiarity = 1 } }));
    }

    [Fact]
    public async Task A_restart_keeps_the_data_and_renews_only_the_demo_credentials()
    {
        await _app.Anonymous().GetAsync("/health/live");
        var first = _app.Services.GetRequiredService<StartupNotes>().Lines.ToList();
        var oldKey = first.Single(n => n.StartsWith("Expert API key:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[3];

        using var second = new ForesightFactory().With("Foresight:Database", _app.DatabasePath)
            .With("Foresight:SampleSurvey", Path.GetFullPath("surveys/national-tf-2045.yaml"));
        await second.Anonymous().GetAsync("/health/live");
        var notes = second.Services.GetRequiredService<StartupNotes>().Lines;
        Assert.DoesNotContain(notes, n => n.StartsWith("Admin sign-in:")); // the admin exists: nothing to print
        var newKey = notes.Single(n => n.StartsWith("Expert API key:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[3];
        Assert.NotEqual(oldKey, newKey);
        Assert.Equal(HttpStatusCode.Unauthorized, (await second.WithToken(oldKey).GetAsync("/api/surveys/national-tf-2045/questionnaire")).StatusCode);
        await second.WithToken(newKey).GetOkAsync("/api/surveys/national-tf-2045/questionnaire");
        var coordinatorPassword = notes.Single(n => n.StartsWith("Coordinator:")).Split(" / ")[1].Split(' ')[0];
        var coordinator = await second.SignInAsync(Foresight.Server.Features.Console.SampleSurvey.DemoCoordinator, coordinatorPassword);
        Assert.Single((await coordinator.GetOkAsync("/api/surveys")).AsArray());
        Assert.Equal(20, (await coordinator.GetOkAsync("/api/surveys/national-tf-2045/panel")).AsArray().Count);
    }
}
