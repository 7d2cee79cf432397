// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {
    CallbackOutcome,
    FeeParameters,
    Fulfillment,
    Model,
    RequestCommitment
} from "../../contracts/interfaces/SibylTypes.sol";
import {HostileConsumer} from "../../contracts/mocks/HostileConsumer.sol";
import {Delivered, SettlementFixture} from "./utils/SettlementFixture.sol";

/// @notice Each request escrows a maximum, pays its own measured share of the real gas at the price
/// paid (tip capped) plus the model fee, and gets the rest back at its refundTo.
contract SibylCoordinatorFeesTest is SettlementFixture {
    uint256 internal constant BASE_FEE = 50 gwei;

    function _fulfillRecorded(Fulfillment[] memory batch) internal returns (Delivered[] memory) {
        vm.recordLogs();
        _fulfill(batch);
        return _delivered(vm.getRecordedLogs());
    }

    function _hostile(
        HostileConsumer.Mode mode,
        uint32 callbackGas
    ) internal returns (RequestCommitment memory) {
        HostileConsumer consumer = new HostileConsumer{value: 1 ether}(coordinator, mode);
        vm.recordLogs();
        consumer.ask{value: _escrowNow(callbackGas)}(MODEL_ID, callbackGas);
        return _requested(vm.getRecordedLogs());
    }

    function test_fulfill_chargesPlusRefundsEqualTheEscrows() public {
        vm.fee(BASE_FEE);
        address[3] memory payees = [address(0xA1), address(0xA2), requester];
        Fulfillment[] memory batch = new Fulfillment[](3);
        uint256 escrows;
        for (uint256 i; i < 3; ++i) {
            uint256 escrow = _escrowNow(0) + i * 1 ether;
            RequestCommitment memory commitment = _requestWith(
                requester,
                abi.encode(i),
                0,
                escrow,
                payees[i]
            );
            batch[i] = _fulfillment(commitment, abi.encodePacked("answer ", i));
            escrows += escrow;
        }
        _gasPrice(BASE_FEE, 1 gwei);
        Delivered[] memory results = _fulfillRecorded(batch);

        uint256 charged;
        uint256 refunded;
        for (uint256 i; i < 3; ++i) {
            assertEq(results[i].requestId, batch[i].commitment.requestId, "one event a result, in order");
            assertEq(
                coordinator.balanceOf(payees[i]),
                batch[i].commitment.escrow - results[i].fee,
                "refundTo gets the escrow less the fee the event reports"
            );
            charged += results[i].fee;
            refunded += coordinator.balanceOf(payees[i]);
        }
        assertEq(coordinator.balanceOf(operator), charged, "the operator gets exactly the charges");
        assertEq(charged + refunded, escrows, "every wei of escrow accounted for");
        assertEq(address(coordinator).balance, escrows, "all of it still held");
    }

    function test_fulfill_chargeIsCappedByTheEscrow() public {
        vm.fee(1 gwei);
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        // The base fee jumps far above what the requester escrowed for.
        _gasPrice(5_000 gwei, 0);
        Delivered[] memory results = _fulfillRecorded(_single(_fulfillment(commitment, "answer")));
        assertEq(results[0].fee, commitment.escrow, "charged the whole escrow, no more");
        assertEq(coordinator.balanceOf(requester), 0, "nothing left to refund");
        assertEq(coordinator.balanceOf(operator), commitment.escrow, "the operator gets the escrow");
    }

    function test_fulfill_tipAboveTheCapIsNotCharged() public {
        vm.fee(BASE_FEE);
        Fulfillment[] memory batch = _single(_fulfillment(_request(requester, "hi", 0), "answer"));
        uint256 snapshot = vm.snapshotState();

        _gasPrice(BASE_FEE, MAX_TIP);
        uint256 atCap = _fulfillRecorded(batch)[0].fee;
        vm.revertToState(snapshot);
        _gasPrice(BASE_FEE, 1_000 gwei);
        uint256 huge = _fulfillRecorded(batch)[0].fee;
        vm.revertToState(snapshot);
        _gasPrice(BASE_FEE, 0);
        uint256 none = _fulfillRecorded(batch)[0].fee;

        // Clamping the price costs the clamp itself a few gas, nothing more: the huge tip is not charged.
        assertGe(huge, atCap, "the capped price");
        assertGe(
            30 * (BASE_FEE + MAX_TIP),
            huge - atCap,
            "a tip above maxPriorityFeePerGas is the operator's own"
        );
        assertTrue(none < atCap, "a tip up to the cap is charged");
        // Same gas, price differs by the capped tip only.
        assertEq((atCap - MODEL_FEE) * BASE_FEE, (none - MODEL_FEE) * (BASE_FEE + MAX_TIP), "price ratio");
    }

    function test_fulfill_gasBurningCallbackPaysForItselfNotItsNeighbours() public {
        vm.fee(BASE_FEE);
        uint32 callbackGas = 1_000_000;
        RequestCommitment memory neighbour = _request(requester, "honest", 0);
        RequestCommitment memory burner = _hostile(HostileConsumer.Mode.BurnGas, callbackGas);
        RequestCommitment memory quitter = _hostile(HostileConsumer.Mode.Revert, callbackGas);
        _gasPrice(BASE_FEE, 0);
        uint256 snapshot = vm.snapshotState();

        Fulfillment[] memory batch = new Fulfillment[](2);
        batch[0] = _fulfillment(neighbour, "answer");
        batch[1] = _fulfillment(burner, "answer");
        Delivered[] memory withBurner = _fulfillRecorded(batch);
        vm.revertToState(snapshot);
        batch[1] = _fulfillment(quitter, "answer");
        Delivered[] memory withQuitter = _fulfillRecorded(batch);

        assertTrue(withBurner[1].callback == CallbackOutcome.Failed, "the burner ran out of its gas");
        assertTrue(withQuitter[1].callback == CallbackOutcome.Failed, "the quitter reverted");
        assertGe(withBurner[1].fee, MODEL_FEE + uint256(callbackGas) * BASE_FEE, "the burner pays its gas");
        assertTrue(withBurner[1].fee <= burner.escrow, "within its escrow");
        assertTrue(
            withQuitter[1].fee < MODEL_FEE + (uint256(callbackGas) * BASE_FEE) / 2,
            "a quick failure is cheap"
        );
        // The neighbour pays the same beside either: within 1% (the refund cap moves a little).
        uint256 a = withBurner[0].fee;
        uint256 b = withQuitter[0].fee;
        assertTrue((a > b ? a - b : b - a) * 100 <= b, "the neighbour does not pay for the burner");
    }

    function test_fulfill_longerOutputsPayMoreInTheSameBatch() public {
        vm.fee(BASE_FEE);
        Fulfillment[] memory batch = new Fulfillment[](2);
        batch[0] = _fulfillment(_request(requester, "short", 0), "yes");
        batch[1] = _fulfillment(_request(requester, "long", 0), new bytes(MAX_OUTPUT));
        for (uint256 i; i < MAX_OUTPUT; ++i) batch[1].output[i] = bytes1(uint8(1 + (i % 255)));
        _gasPrice(BASE_FEE, 0);
        Delivered[] memory results = _fulfillRecorded(batch);
        assertTrue(results[1].fee > results[0].fee, "the long output pays more");
        // 2 KB of non-zero calldata alone is 32k gas at 16 a byte.
        assertGe(results[1].fee - results[0].fee, 32_000 * BASE_FEE, "by at least its calldata");
    }

    /// @dev Finding 2, contract side: at the largest callback gas and output the caps allow, a lone
    /// request is delivered within EIP-7825's 2^24 gas per transaction, whatever its callback does.
    function test_fulfill_loneRequestAtTheCapsFitsOneTransaction() public {
        FeeParameters memory fees = _feeParameters();
        fees.maxCallbackGasLimit = coordinator.MAX_CALLBACK_GAS_LIMIT();
        coordinator.setFeeParameters(fees);
        Model memory model = _model();
        model.maxOutputBytes = coordinator.MAX_OUTPUT_BYTES();
        coordinator.updateModel(MODEL_ID, model);

        RequestCommitment memory commitment = _hostile(
            HostileConsumer.Mode.BurnGas,
            fees.maxCallbackGasLimit
        );
        Fulfillment memory fulfillment = _fulfillment(commitment, _nonZeroBytes(model.maxOutputBytes));
        fulfillment.metadata = _nonZeroBytes(coordinator.MAX_METADATA_BYTES());
        Fulfillment[] memory batch = _single(fulfillment);
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch);
        bytes memory data = abi.encodeCall(ISibylCoordinator.fulfill, (batch, newRoot, proof));

        // What a 2^24 transaction leaves for execution after its intrinsic gas (EIP-2028 calldata).
        uint256 executionGas = (1 << 24) - 21_000 - _calldataGas(data);
        vm.recordLogs();
        vm.prank(operator);
        (bool success, ) = address(coordinator).call{gas: executionGas}(data);
        assertTrue(success, "delivered within the per-transaction cap");
        Delivered[] memory results = _delivered(vm.getRecordedLogs());
        assertTrue(results[0].callback == CallbackOutcome.Failed, "the callback burnt all its gas");
        assertEq(coordinator.commitmentOf(commitment.requestId), bytes32(0), "answered");
        // EIP-7623's floor must fit too.
        assertTrue(21_000 + _calldataFloorGas(data) < 1 << 24, "calldata floor within the cap");
    }

    /// @dev The ABI decoder ignores bytes past the encoding, and zero bytes cost the operator 4 gas
    /// (10 at EIP-7623's floor): padding must not let it charge requesters more than it pays.
    function test_fulfill_paddedCalldataChargesNoMoreThanItCosts() public {
        vm.fee(BASE_FEE);
        Fulfillment[] memory batch = new Fulfillment[](2);
        batch[0] = _fulfillment(_request(requester, "one", 0), "yes");
        batch[1] = _fulfillment(_request(requester, "two", 0), "no");
        _gasPrice(BASE_FEE, 0);
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch);
        bytes memory data = abi.encodeCall(ISibylCoordinator.fulfill, (batch, newRoot, proof));
        uint256 padding = 20_000;
        uint256 snapshot = vm.snapshotState();

        uint256 plain = _chargedFor(data);
        vm.revertToState(snapshot);
        uint256 padded = _chargedFor(bytes.concat(data, new bytes(padding)));
        uint256 paddingCost = padding * 10 * BASE_FEE;
        assertTrue(padded <= plain + paddingCost, "padding charged above what it costs the operator");
    }

    function _chargedFor(bytes memory data) internal returns (uint256 charged) {
        vm.recordLogs();
        vm.prank(operator);
        (bool success, ) = address(coordinator).call(data);
        assertTrue(success, "delivered");
        Delivered[] memory results = _delivered(vm.getRecordedLogs());
        for (uint256 i; i < results.length; ++i) charged += results[i].fee;
    }

    function test_fulfill_chargesTheModelFeeEvenAtZeroGasPrice() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        _gasPrice(0, 0);
        Delivered[] memory results = _fulfillRecorded(_single(_fulfillment(commitment, "answer")));
        assertEq(results[0].fee, MODEL_FEE, "model fee only");
        assertEq(coordinator.balanceOf(requester), commitment.escrow - MODEL_FEE, "gas escrow refunded");
    }

    /// @dev Finding 3, the operator's side: whatever the batch size and outputs, the gas charged to a
    /// batch's requests covers the whole transaction (intrinsic, calldata, execution, less refunds).
    /// hardhat-config: fuzz.runs = 200
    function testFuzz_fulfill_chargesCoverTheOperatorsGas(uint8 count, uint256 seed, uint64 tip) public {
        count = uint8(bound(count, 1, 64));
        tip = uint64(bound(tip, 0, MAX_TIP));
        vm.fee(BASE_FEE);
        Fulfillment[] memory batch = new Fulfillment[](count);
        for (uint256 i; i < count; ++i) {
            uint256 length = uint256(keccak256(abi.encode(seed, i))) % (MAX_OUTPUT + 1);
            RequestCommitment memory commitment = _request(requester, abi.encode(seed, i), 0);
            batch[i] = _fulfillment(commitment, _nonZeroBytes(length));
        }
        _gasPrice(BASE_FEE, tip);
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch);
        bytes memory data = abi.encodeCall(ISibylCoordinator.fulfill, (batch, newRoot, proof));

        vm.recordLogs();
        vm.prank(operator);
        uint256 gasBefore = gasleft();
        (bool success, ) = address(coordinator).call(data);
        uint256 executed = gasBefore - gasleft();
        assertTrue(success, "delivered");
        Delivered[] memory results = _delivered(vm.getRecordedLogs());
        uint256 charged;
        for (uint256 i; i < count; ++i) charged += results[i].fee - MODEL_FEE;

        // Each result clears its commitment (4,800 back, EIP-3529), at most a fifth of the gas used.
        uint256 standard = 21_000 + _calldataGas(data) + executed;
        uint256 refund = uint256(count) * 4_800;
        if (refund > standard / 5) refund = standard / 5;
        uint256 floor = 21_000 + _calldataFloorGas(data);
        uint256 spent = (standard - refund > floor ? standard - refund : floor) * (BASE_FEE + tip);
        assertGe(charged, spent, "the requesters pay the operator's gas");
    }

    /// @dev The same for a delivery without a proof: what the operator keeps of the charges, less the
    /// model fees and the proof gas paid toward the later prove, covers the whole delivery.
    /// hardhat-config: fuzz.runs = 200
    function testFuzz_deliver_operatorsShareCoversItsGas(uint8 count, uint256 seed, uint64 tip) public {
        count = uint8(bound(count, 1, 64));
        Fulfillment[] memory batch = new Fulfillment[](count);
        vm.fee(BASE_FEE);
        for (uint256 i; i < count; ++i) {
            uint256 length = uint256(keccak256(abi.encode(seed, i))) % (MAX_OUTPUT + 1);
            batch[i] = _fulfillment(_request(requester, abi.encode(seed, i), 0), _nonZeroBytes(length));
        }
        (uint256 kept, uint256 spent) = _deliverMeasured(batch, bound(tip, 0, MAX_TIP));
        assertGe(kept, spent, "the requesters pay the operator's gas, besides the proof's share");
    }

    /// @dev The issue's headline case: one request alone, a 256-byte answer, delivered at once.
    function test_deliver_loneRequestPaysTheOperatorsGas() public {
        vm.fee(BASE_FEE);
        Fulfillment[] memory batch = _single(
            _fulfillment(_request(requester, "alone", 0), _nonZeroBytes(256))
        );
        (uint256 kept, uint256 spent) = _deliverMeasured(batch, 1 gwei);
        assertGe(kept / (BASE_FEE + 1 gwei), spent / (BASE_FEE + 1 gwei), "gas paid for vs gas spent");
    }

    /// @dev Delivers `batch` as the operator (first earnings) at BASE_FEE + `tip`, and returns what it
    /// keeps besides the model fees and the proof gas (proofGasPerLeaf a result, for the later prove),
    /// and the gas its transaction costs, at that price.
    function _deliverMeasured(
        Fulfillment[] memory batch,
        uint256 tip
    ) internal returns (uint256 kept, uint256 spent) {
        _gasPrice(BASE_FEE, tip);
        bytes memory data = abi.encodeCall(ISibylCoordinator.deliver, (batch));
        vm.prank(operator);
        uint256 gasBefore = gasleft();
        (bool success, ) = address(coordinator).call(data);
        uint256 executed = gasBefore - gasleft();
        assertTrue(success, "delivered");
        kept =
            coordinator.balanceOf(operator) -
            batch.length * (MODEL_FEE + uint256(PROOF_GAS_PER_LEAF) * (BASE_FEE + tip));
        uint256 standard = 21_000 + _calldataGas(data) + executed;
        uint256 refund = batch.length * 4_800;
        if (refund > standard / 5) refund = standard / 5;
        uint256 floor = 21_000 + _calldataFloorGas(data);
        spent = (standard - refund > floor ? standard - refund : floor) * (BASE_FEE + tip);
    }

    function _nonZeroBytes(uint256 length) internal pure returns (bytes memory data) {
        data = new bytes(length);
        for (uint256 i; i < length; ++i) data[i] = 0x5a;
    }

    function _calldataGas(bytes memory data) internal pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) gas += data[i] == 0 ? 4 : 16;
    }

    function _calldataFloorGas(bytes memory data) internal pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) gas += data[i] == 0 ? 10 : 40;
    }
}
