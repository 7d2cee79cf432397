// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {Fulfillment, Model, RequestCommitment, ResultStatus} from "../../contracts/interfaces/SibylTypes.sol";
import {CoordinatorFixture} from "./utils/CoordinatorFixture.sol";

contract SibylCoordinatorFuzzTest is CoordinatorFixture {
    function testFuzz_request_chargesTheQuotedFeeAndCreditsTheRest(
        uint96 modelFee,
        uint32 callbackGas,
        uint64 baseFee,
        uint96 overpay
    ) public {
        modelFee = uint96(bound(modelFee, 0, 10 ether));
        callbackGas = uint32(bound(callbackGas, 0, MAX_CALLBACK_GAS));
        baseFee = uint64(bound(baseFee, 0, 1000 gwei));
        overpay = uint96(bound(overpay, 0, 10 ether));
        Model memory model = _model();
        model.fee = modelFee;
        coordinator.updateModel(MODEL_ID, model);
        vm.fee(baseFee);

        uint256 gasPrice = baseFee > MIN_GAS_PRICE ? baseFee : MIN_GAS_PRICE;
        uint256 fee = modelFee + (uint256(callbackGas) + OVERHEAD_GAS) * gasPrice;
        assertEq(coordinator.estimateFee(MODEL_ID, callbackGas), fee, "quote");
        vm.deal(requester, fee + overpay);
        uint256 held = address(coordinator).balance;
        vm.prank(requester);
        coordinator.request{value: fee + overpay}(MODEL_ID, "x", callbackGas);
        assertEq(coordinator.balanceOf(requester), overpay, "overpayment credited");
        assertEq(address(coordinator).balance, held + fee + overpay, "all of it held");

        if (fee > 0) {
            vm.deal(requester, fee - 1);
            vm.expectRevert(
                abi.encodeWithSelector(ISibylCoordinator.InsufficientPayment.selector, fee - 1, fee)
            );
            vm.prank(requester);
            coordinator.request{value: fee - 1}(MODEL_ID, "x", callbackGas);
        }
    }

    function testFuzz_request_validatesInputAndCallbackGas(uint256 inputLength, uint32 callbackGas) public {
        inputLength = bound(inputLength, 0, MAX_INPUT * 2);
        bytes memory input = new bytes(inputLength);
        bytes memory expected;
        if (inputLength == 0) {
            expected = abi.encodeWithSelector(ISibylCoordinator.EmptyInput.selector, MODEL_ID);
        } else if (inputLength > MAX_INPUT) {
            expected = abi.encodeWithSelector(
                ISibylCoordinator.InputTooLarge.selector,
                MODEL_ID,
                inputLength,
                MAX_INPUT
            );
        } else if (callbackGas > MAX_CALLBACK_GAS) {
            expected = abi.encodeWithSelector(
                ISibylCoordinator.CallbackGasLimitTooHigh.selector,
                callbackGas,
                MAX_CALLBACK_GAS
            );
        }
        uint256 nextId = coordinator.nextRequestId();
        if (expected.length > 0) vm.expectRevert(expected);
        vm.prank(requester);
        coordinator.request{value: 10 ether}(MODEL_ID, input, callbackGas);
        assertEq(
            coordinator.nextRequestId(),
            expected.length > 0 ? nextId : nextId + 1,
            "id consumed only on success"
        );
    }

    function testFuzz_cancel_onlyAfterTheDeadline(uint32 elapsed) public {
        RequestCommitment memory commitment = _request(requester, "x", 0);
        vm.warp(block.timestamp + elapsed);
        if (block.timestamp <= commitment.deadline) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    ISibylCoordinator.RequestNotExpired.selector,
                    commitment.requestId,
                    commitment.deadline
                )
            );
            coordinator.cancel(commitment);
        } else {
            coordinator.cancel(commitment);
            assertEq(coordinator.balanceOf(requester), commitment.fee, "refunded");
        }
    }

    /// hardhat-config: fuzz.runs = 300
    function testFuzz_fulfill_anyBatchSizeAfterAnyEarlierBatch(
        uint8 earlier,
        uint8 count,
        uint256 seed
    ) public {
        earlier = uint8(bound(earlier, 0, 64));
        count = uint8(bound(count, 1, 64));
        if (earlier > 0) _fulfill(_batch(earlier, seed));
        uint256 before = coordinator.nextIndex();
        uint256 earnedBefore = coordinator.balanceOf(operator);

        Fulfillment[] memory batch = _batch(count, seed >> 8);
        uint256 newRoot = _fulfill(batch);

        uint256 batchSize = _batchSizeFor(count);
        uint256 start = ((before + batchSize - 1) / batchSize) * batchSize;
        assertEq(coordinator.nextIndex(), start + batchSize, "next index after the subtree");
        assertEq(coordinator.root(), newRoot, "root moved to the proven one");
        uint256 fees;
        for (uint256 i; i < count; ++i) {
            fees += batch[i].commitment.fee;
            assertEq(coordinator.commitmentOf(batch[i].commitment.requestId), bytes32(0), "retired");
        }
        assertEq(coordinator.balanceOf(operator), earnedBefore + fees, "operator paid every fee");
    }

    /// hardhat-config: fuzz.runs = 500
    function testFuzz_fulfill_changingAnythingAfterProvingIsRejected(
        uint8 count,
        uint8 which,
        uint8 field
    ) public {
        count = uint8(bound(count, 1, 16));
        which = uint8(bound(which, 0, count - 1));
        Fulfillment[] memory batch = _batch(count, which);
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch);
        field = uint8(bound(field, 0, 2));
        if (field == 0) batch[which].output = abi.encodePacked(batch[which].output, "!");
        if (field == 1) batch[which].metadata = "{}";
        if (field == 2) batch[which].status = uint8(ResultStatus.ModelError);
        uint256 root = coordinator.root();
        vm.expectRevert(
            abi.encodeWithSelector(
                ISibylCoordinator.InvalidProof.selector,
                root,
                newRoot,
                0,
                _batchSizeFor(count)
            )
        );
        vm.prank(operator);
        coordinator.fulfill(batch, newRoot, proof);
    }

    function _batch(uint256 count, uint256 seed) internal returns (Fulfillment[] memory batch) {
        batch = new Fulfillment[](count);
        for (uint256 i; i < count; ++i) {
            uint256 outputLength = uint256(keccak256(abi.encode(seed, i))) % (MAX_OUTPUT + 1);
            batch[i] = _fulfillment(_request(requester, abi.encode(seed, i), 0), new bytes(outputLength));
        }
    }
}
