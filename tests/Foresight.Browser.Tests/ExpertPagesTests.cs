using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Foresight.Browser.Tests;

/// <summary>The expert's journey on a phone-sized screen: the invitation link, the profile, one topic per page, round 2's feedback.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ExpertPagesTests(BrowserFixture browser) : IDisposable
{
    readonly ForesightFactory _app = new();
    public void Dispose() => _app.Dispose();

    public static BrowserNewContextOptions Phone(Uri address, string locale, bool javaScript = true) => new()
    {
        BaseURL = address.ToString(), Locale = locale, JavaScriptEnabled = javaScript,
        ViewportSize = new ViewportSize { Width = 375, Height = 740 }, IsMobile = true, HasTouch = true, DeviceScaleFactor = 2,
    };

    static async Task AssertFitsAsync(IPage page)
    {
        var width = await page.EvaluateAsync<int>("document.documentElement.scrollWidth");
        Assert.True(width <= 375, $"{page.Url} is {width} px wide on a 375 px screen");
    }

    [Fact]
    public async Task An_expert_answers_round_1_on_a_phone_in_Chinese_then_revises_with_the_feedback_in_round_2_in_English()
    {
        var address = _app.StartKestrel();
        var study = await QuickStudy.CreateAsync(_app, experts: 6);
        await using var context = await browser.NewContextAsync(Phone(address, "zh-CN"));
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        // Script errors only: the autosave of an answer that needs a rationale is answered 400 on purpose.
        page.Console += (_, m) => { if (m.Type == "error" && !m.Text.Contains("status of 400")) errors.Add(m.Text); };

        // The invitation link signs the expert in and opens the survey in Chinese (the expert's language).
        await page.GotoAsync($"/x/{study.Secrets[0]}");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/survey/[^/]+$"));
        await Expect(page.Locator("h1")).ToContainTextAsync("量子与人工智能技术预见快速调查");
        await Expect(page.Locator("#round-title")).ToContainTextAsync("第 1 轮");
        await browser.ShotAsync(page, "expert-home-zh");
        await Accessibility.AssertAccessibleAsync(page);
        await AssertFitsAsync(page);

        // The profile first.
        await page.GetByRole(AriaRole.Link, new() { Name = "开始前请先填写您的基本信息" }).ClickAsync();
        await page.GetByLabel("高等院校").CheckAsync();
        await page.GetByLabel("东部地区").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "保存" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/survey/quick-start$"));

        // One topic per page with progress; the first is answered in full, the second is "not familiar".
        await page.GetByRole(AriaRole.Link, new() { Name = "开始答题" }).ClickAsync();
        await Expect(page.Locator(".crumbs")).ToContainTextAsync("第 1 / 6 项课题");
        await page.GetByLabel("熟悉", new() { Exact = true }).CheckAsync();
        await page.Locator("#q-importance").GetByRole(AriaRole.Radio, new() { Name = "6", Exact = true }).CheckAsync();
        await page.Locator("#q-feasibility").GetByRole(AriaRole.Radio, new() { Name = "7", Exact = true }).CheckAsync();
        await page.GetByLabel("年份 (2025–2060)").FillAsync("2035");
        await page.GetByLabel("基础研究薄弱").CheckAsync();
        await page.GetByLabel("人才短缺").CheckAsync();
        await page.Locator("#q-comment textarea").FillAsync("需要长期投入。");
        await page.Locator("#autosave[data-state='q.js.saved']").WaitForAsync();
        await AssertFitsAsync(page);
        await browser.ShotAsync(page, "expert-topic-round1-zh");
        await Accessibility.AssertAccessibleAsync(page);
        await page.GetByRole(AriaRole.Button, new() { Name = "保存并继续" }).ClickAsync();
        await Expect(page.Locator(".crumbs")).ToContainTextAsync("第 2 / 6 项课题");

        // "Not familiar" hides the topic's other questions at once and is saved as it is given.
        await page.GetByLabel("不熟悉").CheckAsync();
        Assert.False(await page.Locator("#q-importance").IsVisibleAsync());
        await page.Locator("#autosave[data-state='q.js.saved']").WaitForAsync();
        await Expect(page.Locator("#progress-text")).ToContainTextAsync("已完成 2 / 6 项课题");

        var saved = await study.Experts[0].GetOkAsync($"{QuickStudy.S}/questionnaire/topics/{QuickStudy.Topics[0]}");
        Assert.Equal(6, saved["answers"]!["importance"]!["value"]!.GetValue<double>());
        Assert.Equal(2035, saved["answers"]!["realization_year"]!["value"]!.GetValue<double>());
        Assert.Equal(["C01", "C03"], saved["answers"]!["constraints"]!["value"]!.AsArray().Select(x => x!.GetValue<string>()));
        Assert.Equal("需要长期投入。", saved["answers"]!["comment"]!["value"]!.GetValue<string>());
        Assert.True(saved["complete"]!.GetValue<bool>());
        var second = await study.Experts[0].GetOkAsync($"{QuickStudy.S}/questionnaire/topics/{QuickStudy.Topics[1]}");
        Assert.Equal(["familiarity"], second["answers"]!.AsObject().Select(kv => kv.Key));

        // The other experts answer through the API; the round closes, round 2 opens.
        int[] importance = [0, 4, 6, 7, 7, 3];
        for (int e = 1; e < 6; e++)
            foreach (var topic in QuickStudy.Topics) await study.AnswerAsync(e, topic, QuickStudy.Answer(importance[e], year: 2028 + 4 * e));
        await study.CloseAsync(1);
        await study.OpenAsync();

        // Round 2 in English: the feedback sits beside each question, with the expert's own earlier answer.
        await page.GotoAsync($"/survey/quick-start/topics/{QuickStudy.Topics[0]}?lang=en");
        await Expect(page.Locator(".crumbs")).ToContainTextAsync("Topic 1 of 6");
        var feedback = page.Locator("#q-importance .feedback");
        await Expect(feedback).ToContainTextAsync("Round 1 result");
        await Expect(feedback).ToContainTextAsync("median 6");
        await Expect(feedback).ToContainTextAsync("Your previous answer: 6");
        await Expect(page.Locator("#q-importance").GetByRole(AriaRole.Radio, new() { Name = "6", Exact = true })).ToBeCheckedAsync();
        await Expect(page.Locator("#q-comment .feedback")).ToContainTextAsync("需要长期投入。");
        await browser.ShotAsync(page, "expert-topic-round2-en");

        // An answer outside the quartiles needs a rationale: marked at the question, saved once it is given.
        await page.Locator("#q-importance").GetByRole(AriaRole.Radio, new() { Name = "2", Exact = true }).CheckAsync();
        await page.Locator("#autosave[data-state='q.js.invalid']").WaitForAsync();
        await Expect(page.Locator("#q-importance p.error")).ToContainTextAsync("outside last round's interquartile range");
        // The script marks the rationale as needed from the rules the page was given, as the save does.
        await Expect(page.Locator("#r-importance")).ToHaveAttributeAsync("aria-required", "true");
        await Expect(page.Locator("#r-importance-needed")).ToHaveTextAsync("This answer needs a short rationale.");
        await browser.ShotAsync(page, "expert-topic-rationale-needed-en");
        await Accessibility.AssertAccessibleAsync(page);
        // The form starts from the round-1 answers; the year 2035 now lies below the quartiles too.
        await Expect(page.Locator("#q-realization_year p.error")).ToContainTextAsync("outside last round's interquartile range");
        await page.Locator("#r-importance").FillAsync("Demand will come later than most expect.");
        await page.Locator("#r-realization_year").FillAsync("Pilot lines exist already.");
        await page.Locator("#r-realization_year").BlurAsync();
        await page.Locator("#autosave[data-state='q.js.saved']").WaitForAsync();
        var revised = await study.Experts[0].GetOkAsync($"{QuickStudy.S}/questionnaire/topics/{QuickStudy.Topics[0]}");
        Assert.Equal(2, revised["answers"]!["importance"]!["value"]!.GetValue<double>());
        Assert.Equal("Demand will come later than most expect.", revised["answers"]!["importance"]!["rationale"]!.GetValue<string>());
        Assert.Equal(2035, revised["answers"]!["realization_year"]!["value"]!.GetValue<double>());
        Assert.Equal(7, revised["answers"]!["feasibility"]!["value"]!.GetValue<double>());

        // The switch is remembered for the expert (e-mails follow it).
        var me = await study.Experts[0].GetOkAsync($"{QuickStudy.S}/questionnaire");
        Assert.Equal("en", me["language"]!.GetValue<string>());
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    const string RulesSurvey = """
        format: foresight/survey-v1
        id: quick-start
        title: {zh-CN: 规则测试, en: Rules test}
        languages: [zh-CN, en]
        questions:
          - id: familiarity
            kind: ordinal
            role: familiarity
            text: {zh-CN: 熟悉程度, en: Familiarity}
            options:
              - {code: 4, label: {zh-CN: 很熟悉, en: Very familiar}, weight: 1}
              - {code: 1, label: {zh-CN: 不熟悉, en: Not familiar}, weight: 0, skips_topic: true}
          - id: level
            kind: ordinal
            text: {zh-CN: 研发水平, en: R&D level}
            options:
              - {code: LEAD, value: 3, label: {zh-CN: 领跑, en: Leading}}
              - {code: PAR, value: 2, label: {zh-CN: 并跑, en: On par}}
              - {code: FOLLOW, value: 1, label: {zh-CN: 跟跑, en: Following}}
          - id: gap
            kind: choice
            text: {zh-CN: 差距, en: Gap}
            when: {question: level, in: [FOLLOW]}
            options:
              - {code: G1, label: {zh-CN: 3年以内, en: Less than 3 years}}
              - {code: G2, label: {zh-CN: 3年以上, en: More than 3 years}}
          - id: risk
            kind: ordinal
            allow_dont_know: true
            rationale: always
            text: {zh-CN: 风险, en: Risk}
            options:
              - {code: H, value: 3, label: {zh-CN: 高, en: High}}
              - {code: M, value: 2, label: {zh-CN: 中, en: Medium}}
              - {code: L, value: 1, label: {zh-CN: 低, en: Low}}
          - id: constraints
            kind: multi_choice
            max_selections: 2
            text: {zh-CN: 制约因素, en: Constraints}
            options:
              - {code: C01, label: {zh-CN: 资金, en: Funding}}
              - {code: C02, label: {zh-CN: 人才, en: Talent}}
              - {code: C03, label: {zh-CN: 器件, en: Components}}
        consensus:
          questions:
            risk: {iqr_max: 1}
        fields:
          - code: Q
            name: {zh-CN: 领域, en: Field}
            topics:
              - {code: Q-T01, title: {zh-CN: 课题一, en: Topic one}}
        """;

    [Fact]
    public async Task The_page_applies_the_servers_rules_between_answers_as_they_are_given()
    {
        var address = _app.StartKestrel();
        var study = await QuickStudy.CreateAsync(_app, experts: 1, yaml: RulesSurvey);
        await using var context = await browser.Browser.NewContextAsync(Phone(address, "en-GB"));
        var page = await context.NewPageAsync();
        await page.GotoAsync($"/x/{study.Secrets[0]}");
        await page.GotoAsync("/survey/quick-start/topics/Q-T01?lang=en");
        var gap = page.Locator("#q-gap");
        // The answers the server holds once the autosave has brought them there.
        async Task UntilStoredAsync(string what, Func<JsonObject, bool> holds)
        {
            var until = DateTime.UtcNow.AddSeconds(30);
            JsonObject answers;
            while (!holds(answers = (await study.Experts[0].GetOkAsync($"{QuickStudy.S}/questionnaire/topics/Q-T01"))["answers"]!.AsObject()))
            {
                Assert.True(DateTime.UtcNow < until, $"the server never held {what}: {answers.ToJsonString()}");
                await Task.Delay(100);
            }
        }

        // A conditional question is shown while its condition holds; the server clears its answer once it does not.
        await page.GetByLabel("Very familiar").CheckAsync();
        await Expect(gap).ToBeHiddenAsync();
        await page.GetByLabel("Following").CheckAsync();
        await Expect(gap).ToBeVisibleAsync();
        await page.GetByLabel("More than 3 years").CheckAsync();
        await UntilStoredAsync("the gap", a => a["gap"]?["value"]?.GetValue<string>() == "G2");
        await page.GetByLabel("Leading").CheckAsync();
        await Expect(gap).ToBeHiddenAsync();
        await UntilStoredAsync("the level without the gap", a => a["level"]?["value"]?.GetValue<string>() == "LEAD" && a["gap"] is null);

        // No more options than the question takes.
        await page.GetByLabel("Funding").CheckAsync();
        await page.GetByLabel("Components").CheckAsync();
        await Expect(page.GetByLabel("Talent")).ToBeDisabledAsync();
        await page.GetByLabel("Funding").UncheckAsync();
        await Expect(page.GetByLabel("Talent")).ToBeEnabledAsync();

        // A rationale needed for any answer but "don't know".
        await page.Locator("#q-risk").GetByLabel("Medium").CheckAsync();
        await Expect(page.Locator("#r-risk")).ToHaveAttributeAsync("aria-required", "true");
        await Expect(page.Locator("#r-risk-needed")).ToBeVisibleAsync();
        await page.Locator("#autosave[data-state='q.js.invalid']").WaitForAsync();
        await page.Locator("#q-risk").GetByLabel("Don't know").CheckAsync();
        await Expect(page.Locator("#r-risk")).ToHaveAttributeAsync("aria-required", "false");
        await Expect(page.Locator("#r-risk-needed")).ToHaveCountAsync(0);
        await UntilStoredAsync("\"don't know\"", a => a["risk"]?["value"]?.GetValue<string>() == "dont_know");

        // "Not familiar" skips the rest of the topic, on the page and in what is stored.
        await page.GetByLabel("Not familiar").CheckAsync();
        foreach (var q in new[] { "level", "gap", "risk", "constraints" })
            await Expect(page.Locator($"#q-{q}")).ToBeHiddenAsync();
        await UntilStoredAsync("the topic skipped", a => a.Select(x => x.Key).SequenceEqual(["familiarity"]));
        await page.GetByLabel("Very familiar").CheckAsync();
        await Expect(page.Locator("#q-level")).ToBeVisibleAsync();
        await Expect(gap).ToBeHiddenAsync();
    }

    [Fact]
    public async Task Answering_works_without_JavaScript_and_with_the_keyboard_alone()
    {
        var address = _app.StartKestrel();
        var study = await QuickStudy.CreateAsync(_app, experts: 6);
        await using var context = await browser.NewContextAsync(Phone(address, "en-GB", javaScript: false));
        var page = await context.NewPageAsync();
        await page.GotoAsync($"/x/{study.Secrets[0]}");
        await page.GotoAsync($"/survey/quick-start/topics/{QuickStudy.Topics[0]}?lang=en");

        // Keyboard only: Tab to the familiarity group, arrows pick within a radio group, Space ticks a box, Enter saves.
        async Task TabToAsync(string name)
        {
            for (int i = 0; i < 80; i++)
            {
                await page.Keyboard.PressAsync("Tab");
                if (await page.EvaluateAsync<string?>("document.activeElement && document.activeElement.name") == name) return;
            }
            Assert.Fail($"Tab never reached {name}");
        }
        await TabToAsync("a.familiarity");
        await page.Keyboard.PressAsync("ArrowDown");          // Very familiar -> Familiar
        await TabToAsync("a.importance");
        for (int i = 0; i < 5; i++) await page.Keyboard.PressAsync("ArrowRight");  // 1 -> 6
        await TabToAsync("a.realization_year");
        await page.Keyboard.TypeAsync("2036");
        await TabToAsync("a.constraints");
        await page.Keyboard.PressAsync("Space");
        await TabToAsync("go");
        while (await page.EvaluateAsync<string>("document.activeElement.value") != "next") await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator(".crumbs")).ToContainTextAsync("Topic 2 of 6");
        var saved = await study.Experts[0].GetOkAsync($"{QuickStudy.S}/questionnaire/topics/{QuickStudy.Topics[0]}");
        Assert.Equal("3", saved["answers"]!["familiarity"]!["value"]!.ToString());
        Assert.Equal(6, saved["answers"]!["importance"]!["value"]!.GetValue<double>());
        Assert.Equal(2036, saved["answers"]!["realization_year"]!["value"]!.GetValue<double>());
        Assert.Equal(["C01"], saved["answers"]!["constraints"]!["value"]!.AsArray().Select(x => x!.GetValue<string>()));

        // Without script, "not familiar" with other answers ticked saves the topic as skipped (the others are dropped).
        await page.GetByLabel("Not familiar").CheckAsync();
        await page.Locator("#q-importance").GetByRole(AriaRole.Radio, new() { Name = "4", Exact = true }).CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Save", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).First).ToContainTextAsync("Saved.");
        var skipped = await study.Experts[0].GetOkAsync($"{QuickStudy.S}/questionnaire/topics/{QuickStudy.Topics[1]}");
        Assert.Equal(["familiarity"], skipped["answers"]!.AsObject().Select(kv => kv.Key));

        // A bad answer comes back as the page with the problem at its question, and nothing stored.
        await page.GotoAsync($"/survey/quick-start/topics/{QuickStudy.Topics[2]}");
        await page.Locator("#a-realization_year").FillAsync("2100");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save", Exact = true }).ClickAsync();
        await Expect(page.Locator("#q-realization_year p.error")).ToContainTextAsync("2025 to 2060");
        await Expect(page.Locator("#a-realization_year")).ToHaveValueAsync("2100");
        await browser.ShotAsync(page, "expert-nojs-error-en");
        var none = await study.Experts[0].GetOkAsync($"{QuickStudy.S}/questionnaire/topics/{QuickStudy.Topics[2]}");
        Assert.Empty(none["answers"]!.AsObject());

        // Messages are posted with a plain form too.
        await page.GetByLabel("Write a message").FillAsync("Is the 2035 horizon realistic for this one?");
        await page.GetByRole(AriaRole.Button, new() { Name = "Post message" }).ClickAsync();
        await Expect(page.Locator("ol.messages")).ToContainTextAsync("Is the 2035 horizon realistic");
        await Expect(page.Locator("ol.messages")).ToContainTextAsync($"Expert {study.Pseudonyms[0]} (you)");
    }
}
