using System.Net;
using System.Net.Http.Json;

namespace Foresight.Server.Tests;

public sealed class MessagesTests : IDisposable
{
    readonly ForesightFactory _app = new();
    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Experts_talk_under_pseudonyms_and_coordinators_moderate()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 3);
        const string M = $"{QuickStudy.S}/topics/Q-T01/messages";
        var first = await Api.OkAsync(await study.Experts[0].PostAsJsonAsync(M, new { body = "Error correction thresholds were passed in 2024." }));
        Assert.Equal($"Expert {study.Pseudonyms[0]}", first["author"]!.GetValue<string>());
        var reply = await Api.OkAsync(await study.Experts[1].PostAsJsonAsync(M, new { body = "Only for small codes.",
            reply_to = first["id"]!.GetValue<long>() }));
        await Api.OkAsync(await study.Experts[2].PostAsJsonAsync(M, new { body = "Call me at my office, I am Quick Expert 2." }));

        var seen = (await study.Experts[1].GetOkAsync(M)).AsArray();
        Assert.Equal(3, seen.Count);
        Assert.Equal($"Expert {study.Pseudonyms[0]}", seen[0]!["author"]!.GetValue<string>());
        Assert.True(seen[1]!["mine"]!.GetValue<bool>());
        Assert.Equal(first["id"]!.GetValue<long>(), seen[1]!["reply_to"]!.GetValue<long>());
        var json = seen.ToJsonString();
        Assert.DoesNotContain("quick0@", json);
        Assert.DoesNotContain("Quick Expert 0", json);

        await Api.ProblemAsync(await study.Experts[0].PostAsJsonAsync($"{QuickStudy.S}/messages/{seen[2]!["id"]}/hide", new { }), HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.NoContent, (await study.Coordinator.PostAsJsonAsync($"{QuickStudy.S}/messages/{seen[2]!["id"]}/hide",
            new { reason = "personal details" })).StatusCode);
        Assert.Equal(2, (await study.Experts[0].GetOkAsync(M)).AsArray().Count);
        var moderated = (await study.Coordinator.GetOkAsync(M)).AsArray();
        Assert.True(moderated[2]!["hidden"]!.GetValue<bool>());
        Assert.Equal("personal details", moderated[2]!["hidden_reason"]!.GetValue<string>());
        await Api.OkAsync(await study.Coordinator.PostAsJsonAsync(M, new { body = "Please keep messages anonymous." }));
        Assert.Equal("Coordinator", (await study.Experts[0].GetOkAsync(M)).AsArray().Last()!["author"]!.GetValue<string>());
        await Api.ProblemAsync(await study.Experts[0].PostAsJsonAsync(M, new { body = "  " }), HttpStatusCode.BadRequest);
        Assert.Equal(1, reply["round"]!.GetValue<int>());
    }
}
