<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>AboutDialog</name>
    <message>
        <source>About {0}</source>
        <translation>关于 {0}</translation>
    </message>
    <message>
        <source>installer build</source>
        <translation>安装包版本</translation>
    </message>
    <message>
        <source>running from source</source>
        <translation>从源代码运行</translation>
    </message>
    <message>
        <source>Licensed under {0}.</source>
        <translation>以 {0} 许可证发布。</translation>
    </message>
    <message>
        <source>llama.cpp is not available: {0}</source>
        <translation>llama.cpp 不可用：{0}</translation>
    </message>
    <message>
        <source>Component</source>
        <translation>组件</translation>
    </message>
    <message>
        <source>Version</source>
        <translation>版本</translation>
    </message>
    <message>
        <source>Licence</source>
        <translation>许可证</translation>
    </message>
    <message>
        <source>Used for</source>
        <translation>用途</translation>
    </message>
    <message>
        <source>Select a component to read its licence.</source>
        <translation>选择一个组件以查看其许可证。</translation>
    </message>
    <message>
        <source>Copy details</source>
        <translation>复制详细信息</translation>
    </message>
</context>
<context>
    <name>BatchTableModel</name>
    <message>
        <source>Row</source>
        <translation>行</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Reading</source>
        <translation>解读</translation>
    </message>
    <message>
        <source>Final answer</source>
        <translation>最终答案</translation>
    </message>
    <message>
        <source>Expected</source>
        <translation>预期</translation>
    </message>
    <message>
        <source>Score</source>
        <translation>评分</translation>
    </message>
    <message>
        <source>Tokens</source>
        <translation>词元</translation>
    </message>
    <message>
        <source>Time (s)</source>
        <translation>用时（秒）</translation>
    </message>
    <message>
        <source>answering…</source>
        <translation>作答中…</translation>
    </message>
    <message>
        <source>waiting</source>
        <translation>等待中</translation>
    </message>
    <message>
        <source>error</source>
        <translation>出错</translation>
    </message>
    <message>
        <source>done (token limit)</source>
        <translation>完成（达词元上限）</translation>
    </message>
    <message>
        <source>done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>correct</source>
        <translation>正确</translation>
    </message>
    <message>
        <source>wrong</source>
        <translation>错误</translation>
    </message>
    <message>
        <source>no answer</source>
        <translation>无答案</translation>
    </message>
</context>
<context>
    <name>BatchView</name>
    <message>
        <source>Batch: {0}</source>
        <translation>批量：{0}</translation>
    </message>
    <message>
        <source>Choose file…</source>
        <translation>选择文件…</translation>
    </message>
    <message>
        <source>Continue</source>
        <translation>继续运行</translation>
    </message>
    <message>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Longest reply (tokens)</source>
        <translation>最长回复（词元）</translation>
    </message>
    <message>
        <source>Prompt language</source>
        <translation>提示词语言</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>运行</translation>
    </message>
    <message>
        <source>Export…</source>
        <translation>导出…</translation>
    </message>
    <message>
        <source>Open as conversation</source>
        <translation>作为对话打开</translation>
    </message>
    <message>
        <source>Choose a table</source>
        <translation>选择表格</translation>
    </message>
    <message>
        <source>Tables ({0})</source>
        <translation>表格 ({0})</translation>
    </message>
    <message>
        <source>All files (*)</source>
        <translation>所有文件 (*)</translation>
    </message>
    <message>
        <source>Reading {0}…</source>
        <translation>正在读取 {0}…</translation>
    </message>
    <message>
        <source>Choose a CSV or Excel table: one question per row, one column per field.</source>
        <translation>选择一个 CSV 或 Excel 表格：每行一个问题，每列对应一个字段。</translation>
    </message>
    <message>
        <source>{0}: {1} rows, columns: {2}</source>
        <translation>{0}：{1} 行，列：{2}</translation>
    </message>
    <message>
        <source>This file has an unfinished run ({0} of {1} rows answered, with {2}). Continue it, or set up a new run below.</source>
        <translation>此文件有一次未完成的批量运行（已回答 {0} / {1} 行，模型：{2}）。可继续运行，或在下方设置新的运行。</translation>
    </message>
    <message>
        <source>Choose a table first.</source>
        <translation>请先选择表格。</translation>
    </message>
    <message>
        <source>Row {0} cannot be asked: {1}</source>
        <translation>第 {0} 行无法提问：{1}</translation>
    </message>
    <message>
        <source>This window&apos;s model: {0}</source>
        <translation>本窗口的模型：{0}</translation>
    </message>
    <message>
        <source>Library: {0}</source>
        <translation>模型库：{0}</translation>
    </message>
    <message>
        <source>Server: {0}</source>
        <translation>服务器：{0}</translation>
    </message>
    <message>
        <source>The window keeps {0} ({1}) loaded for the chat while the batch loads {2} one after the other (the largest: {3}). Both must fit in memory at once. Run the batch?</source>
        <translation>窗口会保留已加载的 {0}（{1}）供对话使用，同时批量运行会依次加载 {2}（最大 {3}）。两者必须能同时装入内存。是否运行？</translation>
    </message>
    <message>
        <source>Two models in memory</source>
        <translation>内存中将有两个模型</translation>
    </message>
    <message>
        <source>Tick at least one model to answer the rows.</source>
        <translation>请至少勾选一个模型来回答这些行。</translation>
    </message>
    <message>
        <source>Preparing the models…</source>
        <translation>正在准备模型…</translation>
    </message>
    <message>
        <source>Answering {0} rows with {1} model(s)</source>
        <translation>正在用 {1} 个模型回答 {0} 行</translation>
    </message>
    <message>
        <source>{0} of {1} rows answered</source>
        <translation>已回答 {0} / {1} 行</translation>
    </message>
    <message>
        <source>Loading {0}…</source>
        <translation>正在加载 {0}…</translation>
    </message>
    <message>
        <source>Done: {0} rows answered.</source>
        <translation>完成：已回答 {0} 行。</translation>
    </message>
    <message>
        <source>Cancelled. The answered rows are kept.</source>
        <translation>已取消。已回答的行均已保留。</translation>
    </message>
    <message>
        <source>Paused: {0} of {1} rows answered. Resume continues from the next row.</source>
        <translation>已暂停：已回答 {0} / {1} 行。点击继续后从下一行开始。</translation>
    </message>
    <message>
        <source>Stopped: {0}</source>
        <translation>已停止：{0}</translation>
    </message>
    <message>
        <source>{0} answered</source>
        <translation>已回答 {0}</translation>
    </message>
    <message>
        <source>{0} failed</source>
        <translation>失败 {0}</translation>
    </message>
    <message>
        <source>accuracy {0:.0%} ({1} of {2})</source>
        <translation>准确率 {0:.0%}（{1} / {2}）</translation>
    </message>
    <message>
        <source>{0:.1f} tokens/s</source>
        <translation>{0:.1f} 词元/秒</translation>
    </message>
    <message>
        <source>Agreement: shown once every model has answered a row.</source>
        <translation>一致率：每个模型都回答过同一行后显示。</translation>
    </message>
    <message>
        <source>The models agree on {0:.0%} of the {1} rows all of them answered.</source>
        <translation>在所有模型都回答了的 {1} 行中，结论一致的占 {0:.0%}。</translation>
    </message>
    <message>
        <source>Excel workbook (*.xlsx)</source>
        <translation>Excel 工作簿 (*.xlsx)</translation>
    </message>
    <message>
        <source>CSV (*.csv)</source>
        <translation>CSV (*.csv)</translation>
    </message>
    <message>
        <source>Export the results</source>
        <translation>导出结果</translation>
    </message>
    <message>
        <source>Results saved to {0}</source>
        <translation>结果已保存到 {0}</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
</context>
<context>
    <name>BuildTab</name>
    <message>
        <source>Step {0} of {1}: {2}</source>
        <translation>第 {0} 步，共 {1} 步：{2}</translation>
    </message>
    <message>
        <source>Make your own quants from the original checkpoint: convert it to BF16, compute an importance matrix where it helps, quantize and verify. The results go into the library; the temporary files are removed.</source>
        <translation>用原始检查点自行构建量化模型：先转换为 BF16，在有帮助时计算重要性矩阵，然后量化并校验。结果存入模型库，临时文件会被删除。</translation>
    </message>
    <message>
        <source>Checkpoint</source>
        <translation>检查点</translation>
    </message>
    <message>
        <source>Choose a folder…</source>
        <translation>选择文件夹…</translation>
    </message>
    <message>
        <source>Compute an importance matrix on finance text (much better Q4_K_S and IQ3 quality; IQ3_XS needs it)</source>
        <translation>用金融文本计算重要性矩阵（显著提升 Q4_K_S 和 IQ3 的质量；IQ3_XS 必须使用）</translation>
    </message>
    <message>
        <source>Build</source>
        <translation>构建</translation>
    </message>
    <message>
        <source>{0} (in the library)</source>
        <translation>{0}（模型库中）</translation>
    </message>
    <message>
        <source>Choose a checkpoint folder</source>
        <translation>选择检查点文件夹</translation>
    </message>
    <message>
        <source>No checkpoint yet: download the original in “Get models”, import a folder, or choose one.</source>
        <translation>还没有检查点：请在“获取模型”中下载原始模型、导入文件夹，或选择一个文件夹。</translation>
    </message>
    <message>
        <source>Reading {0}…</source>
        <translation>正在读取 {0}…</translation>
    </message>
    <message>
        <source>{0}: {1}, {2}, {3} layers</source>
        <translation>{0}：{1}，{2}，{3} 层</translation>
    </message>
    <message>
        <source>Needs {0} of free disk space; {1} free on the library&apos;s disk.</source>
        <translation>需要 {0} 可用磁盘空间；模型库所在磁盘剩余 {1}。</translation>
    </message>
    <message>
        <source>Free up {0} first.</source>
        <translation>请先释放 {0}。</translation>
    </message>
    <message>
        <source>Building {0}</source>
        <translation>正在构建 {0}</translation>
    </message>
    <message>
        <source>Built and added to the library: {0}</source>
        <translation>已构建并加入模型库：{0}</translation>
    </message>
    <message>
        <source>Cancelled; the temporary files were removed.</source>
        <translation>已取消；临时文件已删除。</translation>
    </message>
</context>
<context>
    <name>ColumnMappingBox</name>
    <message>
        <source>Columns</source>
        <translation>列</translation>
    </message>
    <message>
        <source> (optional)</source>
        <translation>（可选）</translation>
    </message>
    <message>
        <source>Every row: {0}</source>
        <translation>每行均为：{0}</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
    <message>
        <source>(none: no scoring)</source>
        <translation>（无：不评分）</translation>
    </message>
    <message>
        <source>Expected answers</source>
        <translation>预期答案</translation>
    </message>
    <message>
        <source>First question</source>
        <translation>第一个问题</translation>
    </message>
    <message>
        <source>Choose the column for: {0}</source>
        <translation>请为以下字段选择列：{0}</translation>
    </message>
</context>
<context>
    <name>Composer</name>
    <message>
        <source>Ask Fin-R1 anything about finance… (Ctrl+Enter to send)</source>
        <translation>向 Fin-R1 提问任何金融问题…（Ctrl+Enter 发送）</translation>
    </message>
    <message>
        <source>New chat</source>
        <translation>新对话</translation>
    </message>
    <message>
        <source>Editing an earlier question: sending replaces it and the replies after it. Clear the box to cancel.</source>
        <translation>正在编辑之前的问题：发送后将替换它及其后的回答。清空输入框即可取消。</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Send</source>
        <translation>发送</translation>
    </message>
</context>
<context>
    <name>DocumentDialog</name>
    <message>
        <source>the model runs on a server, whose tokenizer this app does not have, and its context is taken as the one set in Settings</source>
        <translation>模型运行在服务器上，本应用没有它的分词器，上下文按设置中的长度计算</translation>
    </message>
    <message>
        <source>the model is still loading</source>
        <translation>模型仍在加载</translation>
    </message>
    <message>
        <source>no model is loaded</source>
        <translation>尚未加载模型</translation>
    </message>
    <message>
        <source>Attach {0}</source>
        <translation>附加 {0}</translation>
    </message>
    <message>
        <source>Put in the field</source>
        <translation>填入字段</translation>
    </message>
    <message>
        <source>Choose</source>
        <translation>选择</translation>
    </message>
    <message>
        <source>All</source>
        <translation>全选</translation>
    </message>
    <message>
        <source>None</source>
        <translation>全不选</translation>
    </message>
    <message>
        <source>Choosing parts replaces the text on the right with theirs.</source>
        <translation>更改所选部分会用它们的文本替换右侧的文本。</translation>
    </message>
    <message>
        <source>Split into parts that each fit</source>
        <translation>拆分成各自放得下的几部分</translation>
    </message>
    <message>
        <source>Part for the field:</source>
        <translation>填入字段的部分：</translation>
    </message>
    <message>
        <source>The field gets the part chosen here, as one question. To ask about another part, attach the document again and choose that part.</source>
        <translation>字段只获得此处选中的部分，作为一次提问。要询问其他部分，请再次附加该文档并选择那一部分。</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Reading {0}…</source>
        <translation>正在读取 {0}…</translation>
    </message>
    <message>
        <source>Reading {0}… {1} of {2}</source>
        <translation>正在读取 {0}…（{1} / {2}）</translation>
    </message>
    <message>
        <source>{0} has no text layer: its pages are probably scanned images, and the app cannot read text in images (no OCR). Attach a PDF with text (one saved from the program that made it), or type the figures into the field.</source>
        <translation>{0} 没有文字层：其页面可能是扫描图像，本应用无法识别图像中的文字（不支持 OCR）。请附加带文字的 PDF（由生成它的程序保存的版本），或把数据手动输入字段。</translation>
    </message>
    <message>
        <source>Page {0}</source>
        <translation>第 {0} 页</translation>
    </message>
    <message>
        <source>Sheet {0}</source>
        <translation>工作表 {0}</translation>
    </message>
    <message>
        <source>(before the first heading)</source>
        <translation>（第一个标题之前）</translation>
    </message>
    <message>
        <source>Pages</source>
        <translation>页面</translation>
    </message>
    <message>
        <source>Sheets</source>
        <translation>工作表</translation>
    </message>
    <message>
        <source>Sections</source>
        <translation>章节</translation>
    </message>
    <message>
        <source>Numbers, e.g. 1-5, 8</source>
        <translation>编号，如 1-5, 8</translation>
    </message>
    <message>
        <source>None of these numbers is in {0}: it has {1} parts, numbered 1 to {1}.</source>
        <translation>{0} 中没有这些编号：它共有 {1} 个部分，编号为 1 至 {1}。</translation>
    </message>
    <message>
        <source>The tokens could not be counted: {0}</source>
        <translation>无法计算词元数：{0}</translation>
    </message>
    <message>
        <source>Counting tokens…</source>
        <translation>正在计算词元数…</translation>
    </message>
    <message>
        <source>{0} of {1} tokens</source>
        <translation>{0} / {1} 词元</translation>
    </message>
    <message>
        <source>Kept aside: {0} tokens for the reply (the maximum reply length) and {1} for the rest of the prompt.</source>
        <translation>已预留：回复 {0} 个词元（最大回复长度），提示词的其余部分 {1} 个。</translation>
    </message>
    <message>
        <source>Counted with the loaded model&apos;s tokenizer.</source>
        <translation>由已加载模型的分词器计数。</translation>
    </message>
    <message>
        <source>An estimate, as {0}: one token per Chinese character, one per {1} other characters.</source>
        <translation>此为估算（{0}）：每个汉字计 1 个词元，其他字符每 {1} 个计 1 个词元。</translation>
    </message>
    <message>
        <source>Does not fit: the reply&apos;s room and the rest of the prompt already fill the {0}-token context. Lower the maximum reply length in Settings, or raise the context.</source>
        <translation>放不下：回复预留和提示词的其余部分已占满 {0} 词元的上下文。请在设置中降低最大回复长度，或增大上下文。</translation>
    </message>
    <message>
        <source>Fits: {0}{1} tokens of the {2} the {3}-token context leaves for the document.</source>
        <translation>放得下：{0}{1} 个词元，{3} 词元的上下文为文档留出 {2} 个。</translation>
    </message>
    <message>
        <source>Does not fit: {0}{1} tokens, more than the {2} the {3}-token context leaves for the document.</source>
        <translation>放不下：{0}{1} 个词元，超过 {3} 词元的上下文为文档留出的 {2} 个。</translation>
    </message>
    <message>
        <source>Raise the context to {0} tokens (about {1} more memory)</source>
        <translation>将上下文增大到 {0} 词元（约多占 {1} 内存）</translation>
    </message>
    <message>
        <source>Raise the context to {0} tokens</source>
        <translation>将上下文增大到 {0} 词元</translation>
    </message>
    <message>
        <source>Or choose fewer pages, sheets or sections on the left.</source>
        <translation>或在左侧少选一些页面、工作表或章节。</translation>
    </message>
    <message>
        <source>The server&apos;s context is set on the server.</source>
        <translation>服务器的上下文长度在服务器上设定。</translation>
    </message>
    <message>
        <source>A larger context is not offered: this model was trained for {0} tokens.</source>
        <translation>无法提供更大的上下文：该模型的训练长度为 {0} 词元。</translation>
    </message>
    <message>
        <source>The text could not be split: {0}</source>
        <translation>无法拆分文本：{0}</translation>
    </message>
    <message>
        <source>Part {0} of {1} ({2} tokens)</source>
        <translation>第 {0} 部分，共 {1} 部分（{2} 词元）</translation>
    </message>
</context>
<context>
    <name>DownloadRow</name>
    <message>
        <source>waiting</source>
        <translation>等待中</translation>
    </message>
    <message>
        <source>paused</source>
        <translation>已暂停</translation>
    </message>
    <message>
        <source>finished: in the library</source>
        <translation>已完成：已在模型库中</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <source>failed: {0}</source>
        <translation>失败：{0}</translation>
    </message>
    <message>
        <source>asking the hub…</source>
        <translation>正在询问模型仓库…</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>Formats</name>
    <message>
        <source>{0:.2f} billion parameters</source>
        <translation>{0:.2f} 十亿参数</translation>
    </message>
    <message>
        <source>{0:.1f} million parameters</source>
        <translation>{0:.1f} 百万参数</translation>
    </message>
    <message>
        <source>{0} s</source>
        <translation>{0} 秒</translation>
    </message>
    <message>
        <source>{0} min</source>
        <translation>{0} 分钟</translation>
    </message>
    <message>
        <source>{0} h {1} min</source>
        <translation>{0} 小时 {1} 分钟</translation>
    </message>
    <message>
        <source>estimating time left…</source>
        <translation>正在估算剩余时间…</translation>
    </message>
    <message>
        <source>about {0} left</source>
        <translation>约剩 {0}</translation>
    </message>
    <message>
        <source>fits in GPU memory</source>
        <translation>可放入显存</translation>
    </message>
    <message>
        <source>fits in RAM</source>
        <translation>可放入内存</translation>
    </message>
    <message>
        <source>too large</source>
        <translation>太大</translation>
    </message>
    <message>
        <source>lossless</source>
        <translation>无损</translation>
    </message>
    <message>
        <source>near-lossless</source>
        <translation>近乎无损</translation>
    </message>
    <message>
        <source>excellent</source>
        <translation>极好</translation>
    </message>
    <message>
        <source>very good</source>
        <translation>很好</translation>
    </message>
    <message>
        <source>good</source>
        <translation>良好</translation>
    </message>
    <message>
        <source>fair</source>
        <translation>一般</translation>
    </message>
    <message>
        <source>{0} (measured KLD {1:.4f})</source>
        <translation>{0}（实测 KLD {1:.4f}）</translation>
    </message>
    <message>
        <source>{0} (KLD ≈ {1})</source>
        <translation>{0}（KLD ≈ {1}）</translation>
    </message>
    <message>
        <source>verified</source>
        <translation>已校验</translation>
    </message>
    <message>
        <source>missing</source>
        <translation>缺失</translation>
    </message>
    <message>
        <source>changed: verify it</source>
        <translation>已变更：请校验</translation>
    </message>
    <message>
        <source>damaged</source>
        <translation>已损坏</translation>
    </message>
    <message>
        <source>incomplete</source>
        <translation>不完整</translation>
    </message>
    <message>
        <source>Downloading</source>
        <translation>正在下载</translation>
    </message>
    <message>
        <source>Converting to BF16</source>
        <translation>正在转换为 BF16</translation>
    </message>
    <message>
        <source>Computing the importance matrix</source>
        <translation>正在计算重要性矩阵</translation>
    </message>
    <message>
        <source>Quantizing to {0}</source>
        <translation>正在量化为 {0}</translation>
    </message>
    <message>
        <source>Verifying {0}</source>
        <translation>正在校验 {0}</translation>
    </message>
    <message>
        <source>Importing into the library</source>
        <translation>正在导入模型库</translation>
    </message>
    <message>
        <source>Checking the file</source>
        <translation>正在检查文件</translation>
    </message>
    <message>
        <source>Loading the model</source>
        <translation>正在加载模型</translation>
    </message>
</context>
<context>
    <name>GetModelsTab</name>
    <message>
        <source>Ready-made GGUF files of Fin-R1. The badge says whether each fits this machine; the recommended one is pre-selected. Downloads continue in the background and resume after a restart.</source>
        <translation>现成的 Fin-R1 GGUF 文件。标记说明每个文件能否在本机运行，推荐的版本已预先选中。下载会在后台进行，重启后自动续传。</translation>
    </message>
    <message>
        <source>Repository</source>
        <translation>仓库</translation>
    </message>
    <message>
        <source>Download the original (to build your own)</source>
        <translation>下载原始模型（自行构建）</translation>
    </message>
    <message>
        <source>Download</source>
        <translation>下载</translation>
    </message>
    <message>
        <source>Downloads</source>
        <translation>下载列表</translation>
    </message>
</context>
<context>
    <name>HistoryPanel</name>
    <message>
        <source>History</source>
        <translation>历史记录</translation>
    </message>
    <message>
        <source>Search questions and answers</source>
        <translation>搜索问题和回答</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>打开</translation>
    </message>
    <message>
        <source>Rename</source>
        <translation>重命名</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>导出</translation>
    </message>
    <message>
        <source>Markdown…</source>
        <translation>Markdown…</translation>
    </message>
    <message>
        <source>HTML…</source>
        <translation>HTML…</translation>
    </message>
    <message>
        <source>PDF…</source>
        <translation>PDF…</translation>
    </message>
    <message>
        <source>Include the reasoning</source>
        <translation>包含推理过程</translation>
    </message>
    <message>
        <source>Free chat</source>
        <translation>自由对话</translation>
    </message>
    <message>
        <source>Model SHA-256: {0}</source>
        <translation>模型 SHA-256：{0}</translation>
    </message>
    <message>
        <source>Nothing matches.</source>
        <translation>没有匹配的对话。</translation>
    </message>
    <message>
        <source>Conversations are saved here as they happen.</source>
        <translation>对话会在进行时自动保存在这里。</translation>
    </message>
    <message>
        <source>Rename…</source>
        <translation>重命名…</translation>
    </message>
    <message>
        <source>New title:</source>
        <translation>新标题：</translation>
    </message>
    <message>
        <source>Delete this conversation from the history?</source>
        <translation>从历史记录中删除此对话？</translation>
    </message>
    <message>
        <source>Markdown (*.md)</source>
        <translation>Markdown (*.md)</translation>
    </message>
    <message>
        <source>Web page (*.html)</source>
        <translation>网页 (*.html)</translation>
    </message>
    <message>
        <source>PDF (*.pdf)</source>
        <translation>PDF (*.pdf)</translation>
    </message>
    <message>
        <source>Export conversation</source>
        <translation>导出对话</translation>
    </message>
    <message>
        <source>Exported to {0}</source>
        <translation>已导出到 {0}</translation>
    </message>
    <message>
        <source>The app stopped before this reply finished; this is what had been shown.</source>
        <translation>应用在此回答完成前退出；以下是当时已显示的内容。</translation>
    </message>
</context>
<context>
    <name>HistoryService</name>
    <message>
        <source>The history could not be saved: {0}</source>
        <translation>无法保存历史记录：{0}</translation>
    </message>
    <message>
        <source>Wait for the reply to finish (or stop it) before opening another conversation.</source>
        <translation>请等待回答完成（或停止它）后再打开其他对话。</translation>
    </message>
    <message>
        <source>This panel has no saved conversation yet.</source>
        <translation>此面板还没有已保存的对话。</translation>
    </message>
</context>
<context>
    <name>JobProgress</name>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>LibraryTab</name>
    <message>
        <source>Every model the app knows, checked against the hash recorded when it was added. Drop .gguf files or checkpoint folders here to import them.</source>
        <translation>应用已知的所有模型，均按加入时记录的哈希值校验。把 .gguf 文件或检查点文件夹拖到这里即可导入。</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Quant</source>
        <translation>量化</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Quality</source>
        <translation>质量</translation>
    </message>
    <message>
        <source>Import file…</source>
        <translation>导入文件…</translation>
    </message>
    <message>
        <source>Import folder…</source>
        <translation>导入文件夹…</translation>
    </message>
    <message>
        <source>Verify</source>
        <translation>校验</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Show in folder</source>
        <translation>在文件夹中显示</translation>
    </message>
    <message>
        <source>Use this model</source>
        <translation>使用此模型</translation>
    </message>
    <message>
        <source>downloaded from {0}</source>
        <translation>从 {0} 下载</translation>
    </message>
    <message>
        <source>built here from {0}</source>
        <translation>在本机由 {0} 构建</translation>
    </message>
    <message>
        <source>used where it is: {0}</source>
        <translation>原位使用：{0}</translation>
    </message>
    <message>
        <source>imported from {0}</source>
        <translation>从 {0} 导入</translation>
    </message>
    <message>
        <source>Import a model file</source>
        <translation>导入模型文件</translation>
    </message>
    <message>
        <source>GGUF models (*.gguf)</source>
        <translation>GGUF 模型 (*.gguf)</translation>
    </message>
    <message>
        <source>Import a checkpoint folder</source>
        <translation>导入检查点文件夹</translation>
    </message>
    <message>
        <source>Importing {0}</source>
        <translation>正在导入 {0}</translation>
    </message>
    <message>
        <source>Verifying {0}</source>
        <translation>正在校验 {0}</translation>
    </message>
    <message>
        <source>Remove {0} and delete its file ({1})?</source>
        <translation>移除 {0} 并删除其文件（{1}）？</translation>
    </message>
    <message>
        <source>Forget {0}? Its file stays where it is ({1}).</source>
        <translation>忘记 {0}？其文件保留在原处（{1}）。</translation>
    </message>
    <message>
        <source>Remove model</source>
        <translation>移除模型</translation>
    </message>
    <message>
        <source>Removing {0}</source>
        <translation>正在移除 {0}</translation>
    </message>
    <message>
        <source>Done.</source>
        <translation>完成。</translation>
    </message>
    <message>
        <source>intact</source>
        <translation>完好</translation>
    </message>
    <message>
        <source>Cancelled; nothing was added.</source>
        <translation>已取消；未添加任何内容。</translation>
    </message>
    <message>
        <source>Cancelled; nothing was changed.</source>
        <translation>已取消；没有任何改动。</translation>
    </message>
</context>
<context>
    <name>LocalServer</name>
    <message>
        <source>The server is already running.</source>
        <translation>服务器已在运行。</translation>
    </message>
    <message>
        <source>Load a model on this computer first: the server answers with the model loaded here.</source>
        <translation>请先在本机加载模型：服务器用本机加载的模型回答。</translation>
    </message>
    <message>
        <source>The server stopped because the model is changing; start it again once the new one is ready.</source>
        <translation>模型正在更换，服务器已停止；新模型就绪后请重新启动。</translation>
    </message>
</context>
<context>
    <name>MachinePage</name>
    <message>
        <source>This machine</source>
        <translation>本机</translation>
    </message>
    <message>
        <source>What the model has to work with.</source>
        <translation>模型可用的硬件资源。</translation>
    </message>
    <message>
        <source>Memory (RAM)</source>
        <translation>内存</translation>
    </message>
    <message>
        <source>Processor</source>
        <translation>处理器</translation>
    </message>
    <message>
        <source>Graphics card</source>
        <translation>显卡</translation>
    </message>
    <message>
        <source>GPU use</source>
        <translation>GPU 加速</translation>
    </message>
    <message>
        <source>Looking…</source>
        <translation>正在检测…</translation>
    </message>
    <message>
        <source>{0} in all, {1} free now</source>
        <translation>共 {0}，当前可用 {1}</translation>
    </message>
    <message>
        <source>{0} cores</source>
        <translation>{0} 核</translation>
    </message>
    <message>
        <source>none found</source>
        <translation>未找到</translation>
    </message>
    <message>
        <source>, {0} free</source>
        <translation>，可用 {0}</translation>
    </message>
    <message>
        <source>llama.cpp on this machine can run the model on the GPU</source>
        <translation>本机的 llama.cpp 可以在 GPU 上运行模型</translation>
    </message>
    <message>
        <source>this build of llama.cpp runs on the CPU only</source>
        <translation>此版本的 llama.cpp 只能在 CPU 上运行</translation>
    </message>
    <message>
        <source>Fin-R1 does not fit in the memory free now, even in its smallest version. Close other programs, or use a machine with at least 8 GB of RAM.</source>
        <translation>即使是最小的版本，Fin-R1 也放不进当前可用的内存。请关闭其他程序，或使用至少有 8 GB 内存的电脑。</translation>
    </message>
    <message>
        <source>entirely on the graphics card, which is fast</source>
        <translation>完全在显卡上运行，速度很快</translation>
    </message>
    <message>
        <source>on the processor</source>
        <translation>在处理器上运行</translation>
    </message>
    <message>
        <source>on the processor: expect a few words per second</source>
        <translation>在处理器上运行：每秒约生成几个字</translation>
    </message>
    <message>
        <source>Recommended: {0} ({1}). It runs {2}.</source>
        <translation>推荐：{0}（{1}），将{2}。</translation>
    </message>
    <message>
        <source>About {0} tokens a second here: a typical answer (~{1} tokens with its reasoning) in about {2}.</source>
        <translation>在本机每秒约 {0} 个词元：一个典型回答（含推理约 {1} 个词元）约需 {2}。</translation>
    </message>
    <message>
        <source>A graphics card was found, but this build of llama.cpp cannot use it.</source>
        <translation>检测到显卡，但此版本的 llama.cpp 无法使用它。</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Prompts in</source>
        <translation>提示词语言</translation>
    </message>
    <message>
        <source>Preparing the chat view…</source>
        <translation>正在准备对话视图…</translation>
    </message>
    <message>
        <source>Free chat</source>
        <translation>自由对话</translation>
    </message>
    <message>
        <source>The reply failed: {0}</source>
        <translation>回答失败：{0}</translation>
    </message>
    <message>
        <source>The chat view is still starting; try again in a moment.</source>
        <translation>对话视图仍在启动，请稍后再试。</translation>
    </message>
    <message>
        <source>Still connecting to the server.</source>
        <translation>仍在连接服务器。</translation>
    </message>
    <message>
        <source>The model is still loading.</source>
        <translation>模型仍在加载中。</translation>
    </message>
    <message>
        <source>Load a model first: use the switcher at the top right.</source>
        <translation>请先加载模型：使用右上角的模型切换器。</translation>
    </message>
    <message>
        <source>Code copied.</source>
        <translation>代码已复制。</translation>
    </message>
    <message>
        <source>Answer copied.</source>
        <translation>回答已复制。</translation>
    </message>
    <message>
        <source>The form holds that run&apos;s values: change them and press Run to replace it.</source>
        <translation>表单已填入该次运行的内容：修改后按“运行”即可替换它。</translation>
    </message>
    <message>
        <source>Save code</source>
        <translation>保存代码</translation>
    </message>
    <message>
        <source>Saved {0}</source>
        <translation>已保存 {0}</translation>
    </message>
    <message>
        <source>Open a GGUF model</source>
        <translation>打开 GGUF 模型</translation>
    </message>
    <message>
        <source>GGUF models (*.gguf);;All files (*)</source>
        <translation>GGUF 模型 (*.gguf);;所有文件 (*)</translation>
    </message>
    <message>
        <source>The model {0} on {1} answers.</source>
        <translation>由 {1} 上的模型 {0} 回答。</translation>
    </message>
    <message>
        <source>Could not connect to the server: {0}</source>
        <translation>无法连接服务器：{0}</translation>
    </message>
    <message>
        <source>Could not load the model: {0}</source>
        <translation>无法加载模型：{0}</translation>
    </message>
    <message>
        <source>Library: {0}</source>
        <translation>模型库：{0}</translation>
    </message>
    <message>
        <source>Settings could not be saved: {0}</source>
        <translation>无法保存设置：{0}</translation>
    </message>
</context>
<context>
    <name>ModelHeader</name>
    <message>
        <source>No model loaded</source>
        <translation>未加载模型</translation>
    </message>
    <message>
        <source>Choose a model on the right, or open a GGUF file.</source>
        <translation>请在右侧选择模型，或打开一个 GGUF 文件。</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>GPU: {0}/{1} layers on {2}</source>
        <translation>GPU：{0}/{1} 层在 {2} 上</translation>
    </message>
    <message>
        <source>GPU · {0}/{1} layers</source>
        <translation>GPU · {0}/{1} 层</translation>
    </message>
    <message>
        <source>GPU · {0} layers</source>
        <translation>GPU · {0} 层</translation>
    </message>
    <message>
        <source>GPU · all layers</source>
        <translation>GPU · 全部层</translation>
    </message>
    <message>
        <source>CPU · 1 thread</source>
        <translation>CPU · 1 个线程</translation>
    </message>
    <message>
        <source>CPU · {0} threads</source>
        <translation>CPU · {0} 个线程</translation>
    </message>
    <message>
        <source>Switch model…</source>
        <translation>切换模型…</translation>
    </message>
    <message>
        <source>Open a GGUF file…</source>
        <translation>打开 GGUF 文件…</translation>
    </message>
    <message>
        <source>Loading {0}…</source>
        <translation>正在加载 {0}…</translation>
    </message>
    <message>
        <source>Reading the model file; the window stays usable.</source>
        <translation>正在读取模型文件；窗口仍可使用。</translation>
    </message>
    <message>
        <source>Connecting to {0}…</source>
        <translation>正在连接 {0}…</translation>
    </message>
    <message>
        <source>Asking the server which models it serves; the window stays usable.</source>
        <translation>正在询问服务器提供哪些模型；窗口仍可使用。</translation>
    </message>
    <message>
        <source>Server · {0}</source>
        <translation>服务器 · {0}</translation>
    </message>
    <message>
        <source>The server serves: {0}</source>
        <translation>服务器提供：{0}</translation>
    </message>
</context>
<context>
    <name>ModelManager</name>
    <message>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Library</source>
        <translation>模型库</translation>
    </message>
    <message>
        <source>Get models</source>
        <translation>获取模型</translation>
    </message>
    <message>
        <source>Build</source>
        <translation>构建</translation>
    </message>
</context>
<context>
    <name>ModelsMenu</name>
    <message>
        <source>&amp;Models</source>
        <translation>模型(&amp;M)</translation>
    </message>
    <message>
        <source>Model manager…</source>
        <translation>模型管理器…</translation>
    </message>
    <message>
        <source>Set up Fin-R1…</source>
        <translation>设置 Fin-R1…</translation>
    </message>
    <message>
        <source>{0} is downloaded and verified.</source>
        <translation>{0} 已下载并校验。</translation>
    </message>
</context>
<context>
    <name>ProgressPage</name>
    <message>
        <source>Getting the model ready</source>
        <translation>正在准备模型</translation>
    </message>
    <message>
        <source>You can go back or close this window at any time; nothing half-done is left behind.</source>
        <translation>你可以随时返回或关闭此窗口，不会留下未完成的文件。</translation>
    </message>
    <message>
        <source>Downloading {0} from {1}</source>
        <translation>正在从 {1} 下载 {0}</translation>
    </message>
    <message>
        <source>Downloading the original model from {0}</source>
        <translation>正在从 {0} 下载原始模型</translation>
    </message>
    <message>
        <source>Copying {0} into the model library</source>
        <translation>正在把 {0} 复制到模型库</translation>
    </message>
    <message>
        <source>Building {0}</source>
        <translation>正在构建 {0}</translation>
    </message>
    <message>
        <source>Ready: {0} ({1}, {2}).</source>
        <translation>已就绪：{0}（{1}，{2}）。</translation>
    </message>
    <message>
        <source>Cancelled; nothing half-done was kept.</source>
        <translation>已取消；未保留任何未完成的文件。</translation>
    </message>
    <message>
        <source>Stopped by an error.</source>
        <translation>因错误而停止。</translation>
    </message>
    <message>
        <source>Go back to choose another way, or close and try later.</source>
        <translation>请返回选择其他方式，或关闭后稍后再试。</translation>
    </message>
    <message>
        <source>Download</source>
        <translation>下载</translation>
    </message>
    <message>
        <source>Import into the library</source>
        <translation>导入模型库</translation>
    </message>
    <message>
        <source>Convert, quantize and verify</source>
        <translation>转换、量化并校验</translation>
    </message>
</context>
<context>
    <name>QuantPage</name>
    <message>
        <source>Choose the version of the model</source>
        <translation>选择模型版本</translation>
    </message>
    <message>
        <source>Smaller files need less memory and run faster; larger ones answer a little better. The recommended one is selected.</source>
        <translation>文件越小，占用内存越少、运行越快；文件越大，回答质量略好。已选中推荐的版本。</translation>
    </message>
    <message>
        <source>Sizes marked ≈ are estimates until the hub has been asked.</source>
        <translation>标有 ≈ 的大小为估计值，询问模型仓库后会更新。</translation>
    </message>
    <message>
        <source>The chosen type is built on this computer.</source>
        <translation>所选版本将在本机构建。</translation>
    </message>
</context>
<context>
    <name>QuantTable</name>
    <message>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>File size</source>
        <translation>文件大小</translation>
    </message>
    <message>
        <source>On this machine</source>
        <translation>本机运行</translation>
    </message>
    <message>
        <source>Speed here</source>
        <translation>本机速度</translation>
    </message>
    <message>
        <source>Expected quality</source>
        <translation>预期质量</translation>
    </message>
    <message>
        <source>Bits/weight</source>
        <translation>每权重位数</translation>
    </message>
    <message>
        <source>≈ {0} tok/s · answer ≈ {1}</source>
        <translation>≈ {0} 词元/秒 · 回答 ≈ {1}</translation>
    </message>
    <message>
        <source>GPU ≈ {0} tok/s · answer ≈ {1}</source>
        <translation>GPU ≈ {0} 词元/秒 · 回答 ≈ {1}</translation>
    </message>
    <message>
        <source>GPU: not predicted</source>
        <translation>GPU：未预测</translation>
    </message>
    <message>
        <source>≈ {0} tokens/s here; a typical answer (~{1} tokens with its reasoning) in ≈ {2}</source>
        <translation>本机 ≈ {0} 词元/秒；一个典型回答（含推理约 {1} 个词元）≈ {2}</translation>
    </message>
    <message>
        <source>GPU: not predicted: its memory bandwidth is unknown</source>
        <translation>GPU：未预测：其显存带宽未知</translation>
    </message>
    <message>
        <source>GPU: not predicted: the model does not fit in its memory</source>
        <translation>GPU：未预测：模型放不进其显存</translation>
    </message>
    <message>
        <source>recommended</source>
        <translation>推荐</translation>
    </message>
    <message>
        <source>Needs more memory than this machine has free</source>
        <translation>所需内存超过本机当前可用内存</translation>
    </message>
</context>
<context>
    <name>ReadyPage</name>
    <message>
        <source>Fin-R1 is ready</source>
        <translation>Fin-R1 已就绪</translation>
    </message>
    <message>
        <source>“Load and start” loads the model and opens a first compliance check filled in with an example: press Run to see Fin-R1 reason.</source>
        <translation>“加载并开始”会加载模型，并打开一个已填好示例的合规检查：按“运行”即可看到 Fin-R1 的推理。</translation>
    </message>
    <message>
        <source>{0}: {1}, {2}, verified and kept in the model library.</source>
        <translation>{0}：{1}，{2}，已校验并保存在模型库中。</translation>
    </message>
</context>
<context>
    <name>ScenarioPanel</name>
    <message>
        <source>Worked examples:</source>
        <translation>示例：</translation>
    </message>
    <message>
        <source> (optional)</source>
        <translation>（可选）</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>运行</translation>
    </message>
    <message>
        <source>Stop the reply (Esc)</source>
        <translation>停止回答（Esc）</translation>
    </message>
    <message>
        <source>Ask the model (Ctrl+Enter)</source>
        <translation>向模型提问（Ctrl+Enter）</translation>
    </message>
    <message>
        <source>Attach…</source>
        <translation>附加…</translation>
    </message>
    <message>
        <source>Put a document&apos;s text in this box: PDF, Word (.docx), Excel (.xlsx), CSV, text, Markdown or HTML. You can also drop the file on the box.</source>
        <translation>把文档的文本放进此框：PDF、Word (.docx)、Excel (.xlsx)、CSV、文本、Markdown 或 HTML。也可以把文件拖放到框上。</translation>
    </message>
    <message>
        <source>Attach a document</source>
        <translation>附加文档</translation>
    </message>
    <message>
        <source>Documents ({0})</source>
        <translation>文档 ({0})</translation>
    </message>
    <message>
        <source>All files (*)</source>
        <translation>所有文件 (*)</translation>
    </message>
    <message>
        <source>Batch…</source>
        <translation>批量…</translation>
    </message>
    <message>
        <source>Ask this question for every row of a CSV or Excel table, with one or more models</source>
        <translation>用一个或多个模型，对 CSV 或 Excel 表格的每一行提出这个问题</translation>
    </message>
</context>
<context>
    <name>ServerPanel</name>
    <message>
        <source>Server: starting…</source>
        <translation>服务器：正在启动…</translation>
    </message>
    <message>
        <source>Server: stopping…</source>
        <translation>服务器：正在停止…</translation>
    </message>
    <message>
        <source>Server: off</source>
        <translation>服务器：已关闭</translation>
    </message>
    <message>
        <source>Server: ready at {0}</source>
        <translation>服务器：就绪，地址 {0}</translation>
    </message>
    <message>
        <source>Server: answering 1, {0} waiting</source>
        <translation>服务器：正在回答 1 个，{0} 个等待中</translation>
    </message>
    <message>
        <source>Server: the window&apos;s chat has the model, {0} waiting</source>
        <translation>服务器：窗口中的对话正在使用模型，{0} 个等待中</translation>
    </message>
    <message>
        <source>Server: busy, {0} waiting</source>
        <translation>服务器：忙碌，{0} 个等待中</translation>
    </message>
    <message>
        <source>Listen on</source>
        <translation>监听地址</translation>
    </message>
    <message>
        <source>port</source>
        <translation>端口</translation>
    </message>
    <message>
        <source>any free port</source>
        <translation>任一空闲端口</translation>
    </message>
    <message>
        <source>API key</source>
        <translation>API 密钥</translation>
    </message>
    <message>
        <source>needed to listen beyond this computer (clients send it as a bearer token)</source>
        <translation>监听本机以外的地址时必须设置（客户端以 Bearer 令牌发送）</translation>
    </message>
    <message>
        <source>Log prompt and reply texts (they may be confidential)</source>
        <translation>记录提示词和回答文本（可能含机密内容）</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>Method</source>
        <translation>方法</translation>
    </message>
    <message>
        <source>Path</source>
        <translation>路径</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Tokens</source>
        <translation>词元</translation>
    </message>
    <message>
        <source>Duration</source>
        <translation>耗时</translation>
    </message>
    <message>
        <source>Prompt</source>
        <translation>提示词</translation>
    </message>
    <message>
        <source>Stop server</source>
        <translation>停止服务器</translation>
    </message>
    <message>
        <source>Start server</source>
        <translation>启动服务器</translation>
    </message>
    <message>
        <source>Clients use base URL {0}, model name {1} and the API key.</source>
        <translation>客户端使用基础 URL {0}、模型名称 {1} 和 API 密钥。</translation>
    </message>
    <message>
        <source>Clients use base URL {0} and model name {1}; no API key needed.</source>
        <translation>客户端使用基础 URL {0} 和模型名称 {1}；无需 API 密钥。</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Auto (as many layers as fit)</source>
        <translation>自动（尽可能多的层）</translation>
    </message>
    <message>
        <source>CPU only</source>
        <translation>仅 CPU</translation>
    </message>
    <message>
        <source>All layers</source>
        <translation>全部层</translation>
    </message>
    <message>
        <source>A number of layers</source>
        <translation>指定层数</translation>
    </message>
    <message>
        <source>Follow the system</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>Light</source>
        <translation>浅色</translation>
    </message>
    <message>
        <source>Dark</source>
        <translation>深色</translation>
    </message>
    <message>
        <source>Same as the system</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Engine: who answers</source>
        <translation>引擎：由谁回答</translation>
    </message>
    <message>
        <source>This computer</source>
        <translation>本机</translation>
    </message>
    <message>
        <source>A server (OpenAI-compatible)</source>
        <translation>服务器（兼容 OpenAI）</translation>
    </message>
    <message>
        <source>Answers from</source>
        <translation>回答来自</translation>
    </message>
    <message>
        <source>Server address</source>
        <translation>服务器地址</translation>
    </message>
    <message>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <source>API key</source>
        <translation>API 密钥</translation>
    </message>
    <message>
        <source>the one it serves</source>
        <translation>服务器提供的那个</translation>
    </message>
    <message>
        <source>Model name</source>
        <translation>模型名称</translation>
    </message>
    <message>
        <source> s</source>
        <translation> 秒</translation>
    </message>
    <message>
        <source>Wait for the server</source>
        <translation>等待服务器最长</translation>
    </message>
    <message>
        <source>Test connection</source>
        <translation>测试连接</translation>
    </message>
    <message>
        <source>Model loading (applies when the model is loaded again)</source>
        <translation>模型加载（重新加载模型后生效）</translation>
    </message>
    <message>
        <source>All CPUs</source>
        <translation>全部 CPU</translation>
    </message>
    <message>
        <source>CPU threads</source>
        <translation>CPU 线程数</translation>
    </message>
    <message>
        <source>GPU layers</source>
        <translation>GPU 层数</translation>
    </message>
    <message>
        <source> tokens</source>
        <translation> 个词元</translation>
    </message>
    <message>
        <source>Context size</source>
        <translation>上下文长度</translation>
    </message>
    <message>
        <source>Whether this llama.cpp build can use a GPU is checked when a model loads.</source>
        <translation>加载模型时会检查此版本的 llama.cpp 能否使用 GPU。</translation>
    </message>
    <message>
        <source>This llama.cpp build can offload layers to the GPU.</source>
        <translation>此版本的 llama.cpp 可以把层放到 GPU 上运行。</translation>
    </message>
    <message>
        <source>This llama.cpp build cannot use a GPU (it was built for the CPU only): every layer runs on the CPU whatever is chosen here.</source>
        <translation>此版本的 llama.cpp 无法使用 GPU（仅为 CPU 编译）：无论这里如何选择，所有层都在 CPU 上运行。</translation>
    </message>
    <message>
        <source>Replies</source>
        <translation>回答</translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation>温度</translation>
    </message>
    <message>
        <source>Top-p</source>
        <translation>Top-p</translation>
    </message>
    <message>
        <source>Off</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Auto (llama.cpp decides)</source>
        <translation>自动（由 llama.cpp 决定）</translation>
    </message>
    <message>
        <source>On</source>
        <translation>开启</translation>
    </message>
    <message>
        <source>The model writes its reply one token at a time.</source>
        <translation>模型逐个词元写出回复。</translation>
    </message>
    <message>
        <source>Prompt lookup</source>
        <translation>提示词查找</translation>
    </message>
    <message>
        <source>Guesses the next tokens from text already in the conversation (figures and names quoted back from the question) and lets the model check several at once. Costs no memory; pays most when the reply repeats the prompt.</source>
        <translation>从对话中已有的文字（回复中引用问题里的数字和名称）猜测接下来的词元，让模型一次核验多个。不占内存；回复重复提示词时收益最大。</translation>
    </message>
    <message>
        <source>Draft model</source>
        <translation>草稿模型</translation>
    </message>
    <message>
        <source>A small model with the same vocabulary (for Fin-R1: Qwen2.5-0.5B-Instruct as a GGUF) guesses the next tokens and the model checks several at once. Loaded beside the model: it takes its memory too.</source>
        <translation>一个词表相同的小模型（对 Fin-R1：GGUF 格式的 Qwen2.5-0.5B-Instruct）猜测接下来的词元，由模型一次核验多个。它与模型一同加载，也会占用内存。</translation>
    </message>
    <message>
        <source>GPU</source>
        <translation>GPU</translation>
    </message>
    <message>
        <source>integrated GPU</source>
        <translation>集成显卡</translation>
    </message>
    <message>
        <source>CPU: the layers stay on the CPU</source>
        <translation>CPU：各层留在 CPU 上</translation>
    </message>
    <message>
        <source>accelerator</source>
        <translation>加速器</translation>
    </message>
    <message>
        <source>Engine</source>
        <translation>引擎</translation>
    </message>
    <message>
        <source>Model loading</source>
        <translation>模型加载</translation>
    </message>
    <message>
        <source>Library and look</source>
        <translation>模型库与外观</translation>
    </message>
    <message>
        <source>Layers on the GPU run much faster than on the CPU but take its memory. Auto puts as many as fit the free GPU memory, with the context&apos;s cache; a number of layers leaves the rest on the CPU.</source>
        <translation>放在 GPU 上的层比在 CPU 上运行快得多，但占用显存。“自动”在空闲显存中放下尽可能多的层（连同上下文的缓存）；指定层数时，其余各层留在 CPU 上。</translation>
    </message>
    <message>
        <source>Where the GPU layers go, among the devices llama.cpp lists (as `finr1 doctor` shows them). Automatic spreads them over every GPU it finds; a named device takes them all, e.g. the faster of two GPUs.</source>
        <translation>GPU 层放在哪个设备上，从 llama.cpp 列出的设备中选择（与 `finr1 doctor` 显示的相同）。“自动”把它们分配到 llama.cpp 找到的每块 GPU；指定的设备则承担全部 GPU 层，例如两块 GPU 中较快的一块。</translation>
    </message>
    <message>
        <source>GPU device</source>
        <translation>GPU 设备</translation>
    </message>
    <message>
        <source>q8_0 takes about half the memory of f16 (8.5 bits a value against 16) for a loss of quality hardly measurable; q4_0 about a quarter (4.5 bits), with a small loss. The memory saved leaves room for a longer context or more layers on the GPU.</source>
        <translation>q8_0 占用的内存约为 f16 的一半（每个值 8.5 位，f16 为 16 位），质量损失几乎测不出；q4_0 约为四分之一（4.5 位），质量略有损失。省下的内存可用于更长的上下文，或在 GPU 上放更多层。</translation>
    </message>
    <message>
        <source>The type of the attention keys kept for every token of the context. {0}</source>
        <translation>上下文中每个词元所保存的注意力键（K）的类型。{0}</translation>
    </message>
    <message>
        <source>The type of the attention values kept for every token of the context. {0} A quantized V cache (q8_0, q4_0) needs flash attention: on, or auto, which then turns it on.</source>
        <translation>上下文中每个词元所保存的注意力值（V）的类型。{0}量化的 V 缓存（q8_0、q4_0）需要 Flash Attention：设为“开启”，或设为“自动”（此时会自动开启）。</translation>
    </message>
    <message>
        <source>K/V cache types</source>
        <translation>K/V 缓存类型</translation>
    </message>
    <message>
        <source>Flash attention computes the attention without keeping its whole score matrix: less memory for long contexts, and usually faster on a GPU (on a CPU it gains little). Auto lets llama.cpp use it where the device supports it; off keeps the V cache at f16.</source>
        <translation>Flash Attention 计算注意力时不保存完整的分数矩阵：长上下文占用的内存更少，在 GPU 上通常更快（在 CPU 上收益不大）。“自动”让 llama.cpp 在设备支持时使用它；“关闭”时 V 缓存须保持 f16。</translation>
    </message>
    <message>
        <source>Flash attention</source>
        <translation>Flash Attention</translation>
    </message>
    <message>
        <source>The reply is the same either way, token for token: the model checks every guess and keeps only what it would have written itself. Only the speed changes.</source>
        <translation>无论哪种方式，回复都逐词元相同：模型核验每个猜测，只保留它自己本会写出的内容。改变的只是速度。</translation>
    </message>
    <message>
        <source>Speculative decoding: tokens guessed ahead are checked by the model several at a time, which is faster where the guesses are right. {0}</source>
        <translation>推测解码：预先猜测的词元由模型一次核验多个，猜对时更快。{0}</translation>
    </message>
    <message>
        <source>Faster replies</source>
        <translation>更快回复</translation>
    </message>
    <message>
        <source>the draft model&apos;s GGUF</source>
        <translation>草稿模型的 GGUF</translation>
    </message>
    <message>
        <source>The small GGUF that drafts: it must share the model&apos;s vocabulary (for Fin-R1: Qwen2.5-0.5B-Instruct). Kept when another choice is made.</source>
        <translation>用于起草的小 GGUF：它必须与模型共用词表（对 Fin-R1：Qwen2.5-0.5B-Instruct）。选择其他方式时仍会保留。</translation>
    </message>
    <message>
        <source>Top-k</source>
        <translation>Top-k</translation>
    </message>
    <message>
        <source>Repetition penalty</source>
        <translation>重复惩罚</translation>
    </message>
    <message>
        <source>Longest reply</source>
        <translation>最长回答</translation>
    </message>
    <message>
        <source>Reset to Fin-R1&apos;s</source>
        <translation>恢复 Fin-R1 默认值</translation>
    </message>
    <message>
        <source>System prompt</source>
        <translation>系统提示词</translation>
    </message>
    <message>
        <source>Scenario prompts in</source>
        <translation>场景提示词语言</translation>
    </message>
    <message>
        <source>Library, hub and look</source>
        <translation>模型库、仓库与外观</translation>
    </message>
    <message>
        <source>GGUF models (*.gguf);;All files (*)</source>
        <translation>GGUF 模型 (*.gguf);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <source>Model library</source>
        <translation>模型库</translation>
    </message>
    <message>
        <source>https://huggingface.co (a mirror: https://hf-mirror.com)</source>
        <translation>https://huggingface.co（镜像：https://hf-mirror.com）</translation>
    </message>
    <message>
        <source>Hub endpoint</source>
        <translation>模型仓库地址</translation>
    </message>
    <message>
        <source>only for gated or private repositories</source>
        <translation>仅用于受限或私有仓库</translation>
    </message>
    <message>
        <source>Hub token</source>
        <translation>仓库令牌</translation>
    </message>
    <message>
        <source>Offline mode: never contact the hub</source>
        <translation>离线模式：从不连接模型仓库</translation>
    </message>
    <message>
        <source>Theme</source>
        <translation>主题</translation>
    </message>
    <message>
        <source>Window language</source>
        <translation>界面语言</translation>
    </message>
    <message>
        <source>Give the server&apos;s address, such as http://127.0.0.1:8000/v1.</source>
        <translation>请填写服务器地址，例如 http://127.0.0.1:8000/v1。</translation>
    </message>
    <message>
        <source>Testing {0}…</source>
        <translation>正在测试 {0}…</translation>
    </message>
    <message>
        <source>Connection works: {0}</source>
        <translation>连接正常：{0}</translation>
    </message>
    <message>
        <source>Connection failed: {0}</source>
        <translation>连接失败：{0}</translation>
    </message>
    <message>
        <source>llama.cpp&apos;s devices could not be listed: {0}</source>
        <translation>无法列出 llama.cpp 的设备：{0}</translation>
    </message>
    <message>
        <source>Automatic (every GPU llama.cpp finds)</source>
        <translation>自动（llama.cpp 找到的所有 GPU）</translation>
    </message>
    <message>
        <source>{0} (not found)</source>
        <translation>{0}（未找到）</translation>
    </message>
    <message>
        <source>llama.cpp does not list this device now: a model loads with it only once it is back. Choose another to load without it.</source>
        <translation>llama.cpp 现在没有列出此设备：它恢复之前无法用它加载模型。选择其他设备即可不用它加载。</translation>
    </message>
    <message>
        <source>{0}, {1} free</source>
        <translation>{0}，可用 {1}</translation>
    </message>
    <message>
        <source>The engine refuses this cache choice: {0}</source>
        <translation>引擎不接受这一缓存设置：{0}</translation>
    </message>
    <message>
        <source>The engine refuses this choice of faster replies: {0}</source>
        <translation>引擎拒绝此更快回复选项：{0}</translation>
    </message>
    <message>
        <source>Fin-R1&apos;s K/V cache at {0} tokens: {1}.</source>
        <translation>Fin-R1 在 {0} 个词元时的 K/V 缓存：{1}。</translation>
    </message>
    <message>
        <source>Fin-R1&apos;s K/V cache at {0} tokens: {1} (f16: {2}).</source>
        <translation>Fin-R1 在 {0} 个词元时的 K/V 缓存：{1}（f16：{2}）。</translation>
    </message>
    <message>
        <source>Model library folder</source>
        <translation>模型库文件夹</translation>
    </message>
</context>
<context>
    <name>SetupWizard</name>
    <message>
        <source>Set up Fin-R1</source>
        <translation>设置 Fin-R1</translation>
    </message>
    <message>
        <source>&lt; Back</source>
        <translation>&lt; 上一步</translation>
    </message>
    <message>
        <source>Next &gt;</source>
        <translation>下一步 &gt;</translation>
    </message>
    <message>
        <source>Load and start</source>
        <translation>加载并开始</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>SourcePage</name>
    <message>
        <source>Where the model comes from</source>
        <translation>模型来源</translation>
    </message>
    <message>
        <source>Choose one way to get Fin-R1.</source>
        <translation>选择一种获取 Fin-R1 的方式。</translation>
    </message>
    <message>
        <source>Found on this computer</source>
        <translation>在本机找到</translation>
    </message>
    <message>
        <source>Use {0} (beside the app)</source>
        <translation>使用 {0}（应用旁边的文件）</translation>
    </message>
    <message>
        <source>Download a ready-made model file</source>
        <translation>下载现成的模型文件</translation>
    </message>
    <message>
        <source>The quickest way: one file of 3 to 8 GB from the model hub.</source>
        <translation>最快的方式：从模型仓库下载一个 3 到 8 GB 的文件。</translation>
    </message>
    <message>
        <source>Download the original model and build it here</source>
        <translation>下载原始模型并在本机构建</translation>
    </message>
    <message>
        <source>Downloads 15 GB, then converts and quantizes on this computer (with an importance matrix for the smallest types). Takes longer; every step is checked.</source>
        <translation>下载 15 GB，然后在本机转换并量化（最小的版本会使用重要性矩阵）。耗时较长，每一步都会校验。</translation>
    </message>
    <message>
        <source>Import a model from disk (a .gguf file or a checkpoint folder)</source>
        <translation>从磁盘导入模型（.gguf 文件或检查点文件夹）</translation>
    </message>
    <message>
        <source>Path of a .gguf file or a checkpoint folder</source>
        <translation>.gguf 文件或检查点文件夹的路径</translation>
    </message>
    <message>
        <source>File…</source>
        <translation>文件…</translation>
    </message>
    <message>
        <source>Folder…</source>
        <translation>文件夹…</translation>
    </message>
    <message>
        <source>Choose a model file</source>
        <translation>选择模型文件</translation>
    </message>
    <message>
        <source>GGUF models (*.gguf)</source>
        <translation>GGUF 模型 (*.gguf)</translation>
    </message>
    <message>
        <source>Choose a checkpoint folder</source>
        <translation>选择检查点文件夹</translation>
    </message>
</context>
<context>
    <name>WelcomePage</name>
    <message>
        <source>Welcome to Fin-R1 Studio</source>
        <translation>欢迎使用 Fin-R1 Studio</translation>
    </message>
    <message>
        <source>Fin-R1 answers finance questions on this computer; nothing you ask leaves it.</source>
        <translation>Fin-R1 在本机回答金融问题；你的提问不会离开这台电脑。</translation>
    </message>
    <message>
        <source>This assistant gets the Fin-R1 model ready: it looks at this machine, helps you choose a version of the model that fits it, fetches or builds it, and opens a first compliance check. It takes a few minutes plus the download.</source>
        <translation>本向导将帮你准备好 Fin-R1 模型：检测本机硬件，帮你选择合适的模型版本，下载或构建模型，并打开第一个合规检查。除下载时间外，只需几分钟。</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>Same as the system</source>
        <translation>跟随系统</translation>
    </message>
</context>
<context>
    <name>WindowServices</name>
    <message>
        <source>Local server</source>
        <translation>本地服务器</translation>
    </message>
    <message>
        <source>&amp;Conversation</source>
        <translation>对话(&amp;C)</translation>
    </message>
    <message>
        <source>Export as Markdown…</source>
        <translation>导出为 Markdown…</translation>
    </message>
    <message>
        <source>Export as HTML…</source>
        <translation>导出为 HTML…</translation>
    </message>
    <message>
        <source>Export as PDF…</source>
        <translation>导出为 PDF…</translation>
    </message>
    <message>
        <source>Show the history</source>
        <translation>显示历史记录</translation>
    </message>
    <message>
        <source>History</source>
        <translation>历史记录</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>About Fin-R1 Studio…</source>
        <translation>关于 Fin-R1 Studio…</translation>
    </message>
    <message>
        <source>This panel has no saved conversation yet.</source>
        <translation>此面板还没有已保存的对话。</translation>
    </message>
    <message>
        <source>Batch runs are saved in the history, which could not be opened.</source>
        <translation>批量运行保存在历史记录中，但历史记录无法打开。</translation>
    </message>
</context>
</TS>
