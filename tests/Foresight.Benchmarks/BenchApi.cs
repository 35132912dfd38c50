using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Foresight.Benchmarks;

/// <summary>The API calls a benchmark needs to set up a study, as a coordinator would.</summary>
public sealed class BenchApi(Uri address)
{
    public HttpClient Http { get; } = new(new SocketsHttpHandler { MaxConnectionsPerServer = 512, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
    {
        BaseAddress = address,
        Timeout = TimeSpan.FromMinutes(5), // closing a national round takes a while
    };
    public string Token { get; private set; } = "";

    public async Task SignInAsync(string email, string password)
    {
        var r = await Ok(await Http.PostAsJsonAsync("/api/auth/signin", new { email, password }));
        Token = r["token"]!.GetValue<string>();
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
    }

    public async Task<JsonNode> Ok(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{(int)response.StatusCode} {response.RequestMessage?.RequestUri}: {text}");
        return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text)!;
    }

    public async Task ImportSurveyAsync(string yaml) =>
        await Ok(await Http.PostAsync("/api/surveys", new StringContent(yaml, Encoding.UTF8, "application/yaml")));

    /// <summary>Adds experts by CSV (in chunks) and puts them on the panel; returns their invitation secrets.</summary>
    public async Task<List<(string Secret, string[] Fields)>> PanelAsync(string survey, int experts, Func<int, string[]> fields)
    {
        var ids = new List<long>();
        for (int start = 0; start < experts; start += 2000)
        {
            var csv = new StringBuilder("name,email,org_type,region,expertise\n");
            for (int e = start; e < Math.Min(experts, start + 2000); e++)
                csv.Append($"Bench Expert {e},bench{e}@bench.local,UNI,YRD,{string.Join(';', fields(e))}\n");
            var r = await Ok(await Http.PostAsync("/api/experts/import", new StringContent(csv.ToString(), Encoding.UTF8, "text/csv")));
            ids.AddRange(r["experts"]!.AsArray().Select(x => x!["id"]!.GetValue<long>()));
        }
        var result = new List<(string, string[])>();
        for (int start = 0; start < ids.Count; start += 1000)
        {
            var chunk = ids.Skip(start).Take(1000).Select(id => new { expert_id = id });
            var invitations = (await Ok(await Http.PostAsJsonAsync($"/api/surveys/{survey}/panel", new { members = chunk }))).AsArray();
            result.AddRange(invitations.Select(i => (i!["secret"]!.GetValue<string>(), i["fields"]!.AsArray().Select(f => f!.GetValue<string>()).ToArray())));
        }
        return result;
    }

    public async Task OpenRoundAsync(string survey) => await Ok(await Http.PostAsJsonAsync($"/api/surveys/{survey}/rounds", new { }));
}
